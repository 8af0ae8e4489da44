import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';

function problemsOf(env: Record<string, string>, require: ('discord' | 'slack')[] = []): string[] {
  try {
    loadConfig(env, { require });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig', () => {
  it('runs on the embedded defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.redisUrl).toBe('redis://127.0.0.1:6390');
    expect(config.cluster.mode).toBe('sim');
    expect(config.discord.apiUrl).toBe('https://discord.com/api');
    expect(config.slack.port).toBe(3000);
    expect(config.limits.maxLabsPerUser).toBe(3);
  });

  it('reads the documented variable names', () => {
    const config = loadConfig({
      LABBOT_DISCORD_API_URL: 'http://127.0.0.1:4100/api',
      LABBOT_SLACK_API_URL: 'http://127.0.0.1:4200/api/',
      LABBOT_SLACK_PORT: '4300',
      LABBOT_LESSONS_DIR: '/srv/lessons',
      REDIS_URL: 'redis://127.0.0.1:6400/2',
      KUBECONFIG: '/root/.kube/config',
      LABBOT_INSTRUCTOR_ROLES: 'Instructor, TA',
    });
    expect(config.discord.apiUrl).toBe('http://127.0.0.1:4100/api');
    expect(config.slack.apiUrl).toBe('http://127.0.0.1:4200/api/');
    expect(config.slack.port).toBe(4300);
    expect(config.lessonsDir).toBe('/srv/lessons');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6400/2');
    expect(config.cluster).toMatchObject({ mode: 'kubeconfig', kubeconfigPath: '/root/.kube/config' });
    expect(config.instructors.roles).toEqual(['Instructor', 'TA']);
  });

  it('reads the Docker engine as the docker CLI does: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH', () => {
    expect(loadConfig({}).docker).toEqual({ host: undefined, tlsVerify: false, certPath: undefined });
    expect(
      loadConfig({ DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' }).docker,
    ).toEqual({ host: 'tcp://127.0.0.1:2376', tlsVerify: true, certPath: '/certs' });
    expect(loadConfig({ DOCKER_TLS_VERIFY: '0' }).docker.tlsVerify).toBe(false);
  });

  it('reads per-learner rate limits as N/<seconds>s, or off', () => {
    expect(loadConfig({}).rateLimits.start).toEqual({ limit: 5, windowMs: 60_000 });
    const config = loadConfig({ LABBOT_RATE_LIMIT_KUBECTL: '10/30s', LABBOT_RATE_LIMIT_CHECK: 'off' });
    expect(config.rateLimits.kubectl).toEqual({ limit: 10, windowMs: 30_000 });
    expect(config.rateLimits.check).toBeUndefined();
  });

  it.each([
    [
      { REDIS_URL: 'http://localhost:6379' },
      'REDIS_URL: must be a redis:// or rediss:// URL (got "http://localhost:6379")',
    ],
    [{ LABBOT_SLACK_PORT: 'eighty' }, 'LABBOT_SLACK_PORT: must be a whole number (got "eighty")'],
    [{ LABBOT_SLACK_PORT: '70000' }, 'LABBOT_SLACK_PORT: must be at most 65535 (got "70000")'],
    [
      { LABBOT_CLUSTER: 'minikube' },
      'LABBOT_CLUSTER: must be one of auto, sim, kubeconfig, in-cluster (got "minikube")',
    ],
    [{ LABBOT_CLUSTER: 'kubeconfig' }, 'KUBECONFIG: must name a kubeconfig file when LABBOT_CLUSTER=kubeconfig'],
    [
      { LABBOT_DISCORD_API_URL: 'discord.com/api' },
      'LABBOT_DISCORD_API_URL: must be an http:// or https:// URL (got "discord.com/api")',
    ],
    [{ LABBOT_REGISTRY: 'http://127.0.0.1:5050' }, 'LABBOT_REGISTRY: must be host[:port] of a registry'],
    [{ LABBOT_MAX_LABS_PER_USER: '0' }, 'LABBOT_MAX_LABS_PER_USER: must be at least 1 (got "0")'],
    [{ LABBOT_RATE_LIMIT_START: '5 per minute' }, 'LABBOT_RATE_LIMIT_START: must be N/<seconds>s (e.g. 5/60s'],
    [{ LABBOT_CEILING_MEMORY: 'lots' }, 'LABBOT_CEILING_MEMORY: must be a Kubernetes memory quantity'],
    [{ DOCKER_HOST: '/var/run/docker.sock' }, 'DOCKER_HOST: must start with unix://, tcp:// or npipe://'],
    [{ DOCKER_TLS_VERIFY: 'yes' }, 'DOCKER_TLS_VERIFY: must be one of 0, 1, true, false (got "yes")'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
  ])('names the variable and the fix for %o', (env, expected) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(expected);
  });

  it('lists every problem at once, in one message', () => {
    try {
      loadConfig({ REDIS_URL: 'nope', LABBOT_SLACK_PORT: '-1', LABBOT_SIM_KUBELET: 'podman' });
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toMatch(/^labbot cannot start: 3 settings are wrong:/);
      expect(message).toContain('REDIS_URL');
      expect(message).toContain('LABBOT_SLACK_PORT');
      expect(message).toContain('LABBOT_SIM_KUBELET');
    }
  });

  it('asks a chat app for its credentials and never prints a secret', () => {
    expect(problemsOf({}, ['discord'])).toEqual([
      'LABBOT_DISCORD_TOKEN: missing (the bot token of your Discord application)',
      'LABBOT_DISCORD_APPLICATION_ID: missing (your application id)',
    ]);
    const problems = problemsOf({ LABBOT_SLACK_BOT_TOKEN: 'not-a-bot-token-secret', LABBOT_SLACK_MODE: 'socket' }, [
      'slack',
    ]);
    expect(problems.join('\n')).not.toContain('not-a-bot-token-secret');
    expect(problems).toContain('LABBOT_SLACK_BOT_TOKEN: must be a bot token (xoxb-...)');
    expect(problems.some((p) => p.startsWith('LABBOT_SLACK_APP_TOKEN: missing'))).toBe(true);
  });

  it('stops a process with the list and no stack trace', () => {
    const script = `import { loadConfigOrExit } from './packages/config/src/index.ts'; loadConfigOrExit();`;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--conditions', 'labbot-source', '-e', script], {
      cwd: new URL('../../..', import.meta.url).pathname,
      env: { PATH: process.env.PATH, REDIS_URL: 'mysql://db', LABBOT_SLACK_SIGNING_SECRET: 'supersecret' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('labbot cannot start: 1 setting is wrong:\n  - REDIS_URL: must be a redis://');
    expect(result.stderr).not.toMatch(/\bat .*\.(ts|js):\d+/);
    expect(result.stderr).not.toContain('supersecret');
  });
});

describe('createLogger', () => {
  it('writes structured lines with tokens redacted', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ name: 'test', destination });
    logger.info({ labId: 'abc', token: 'xoxb-123', headers: { authorization: 'Bot 456' } }, 'hello');
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line).toMatchObject({ name: 'test', labId: 'abc', msg: 'hello', token: '[redacted]' });
    expect(lines[0]).not.toContain('xoxb-123');
    expect(lines[0]).not.toContain('Bot 456');
  });
});

describe('.env.example', () => {
  it('documents every variable of the schema and its values are accepted', async () => {
    const { readFileSync } = await import('node:fs');
    const { EnvironmentSchema } = await import('./schema.js');
    const text = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    const documented = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const internal = new Set(['NODE_ENV', 'KUBERNETES_SERVICE_HOST']);
    const missing = Object.keys(EnvironmentSchema.shape).filter((name) => !internal.has(name) && !documented.has(name));
    expect(missing).toEqual([]);
    const active = Object.fromEntries([...text.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    expect(() => loadConfig(active)).not.toThrow();
  });
});
