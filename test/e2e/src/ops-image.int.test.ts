// labbot's compose file and image, for real: the image builds from the offline base, the runner from it
// runs a lab driven by the local chat, and the bots from it report healthy. Containers use the host's
// network (loopback services), never a bridge.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labIdFor } from '@labbot/core';
import { type DiscordSim, startDiscordSim } from '@labbot/discord-sim';
import { type SlackSim, startSlackSim } from '@labbot/slack-sim';
import { freePort, waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runnerArgs } from './deploy-files.js';
import { type LabHarness, type LocalChat, labWait, startLabHarness } from './harness.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..', '..');
const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
if (!hasCompose) console.warn('ops-image: skipped, docker-compose is not installed (scripts/test.sh installs it)');

const health = async (container: string) =>
  (await run('docker', ['inspect', '-f', '{{.State.Health.Status}}', container])).stdout.trim();
const logsOf = async (container: string) => {
  const { stdout, stderr } = await run('docker', ['logs', container]).catch(() => ({ stdout: '', stderr: '' }));
  return stdout + stderr;
};

describe.skipIf(!hasCompose)(
  `labbot's compose stack and image${hasCompose ? '' : ' (skipped: no docker-compose)'}`,
  () => {
    const nonce = randomBytes(4).toString('hex');
    const image = `labbot/labbot:e2e-${nonce}`;
    const containers: string[] = [];
    let harness: LabHarness;
    let chat: LocalChat;
    let discord: DiscordSim;
    let slack: SlackSim;

    const start = async (name: string, env: Record<string, string>, args: string[], extra: string[] = []) => {
      const container = `labbot-e2e-${name}-${nonce}`;
      const envArgs = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
      await run('docker', [
        'run',
        '-d',
        '--name',
        container,
        '--network',
        'host',
        '--health-interval',
        '2s',
        '--health-start-period',
        '60s',
        ...envArgs,
        ...extra,
        image,
        ...args,
      ]);
      containers.push(container);
      return container;
    };

    beforeAll(async () => {
      discord = await startDiscordSim({ botToken: 'image-bot-token' });
      slack = await startSlackSim();
      harness = await startLabHarness({ redisDb: 23, kubelet: 'virtual' });
      // The offline base images, then the app staged on the host and copied into the image.
      await run('bash', ['scripts/base-images.sh'], { cwd: repo });
      await run('bash', ['scripts/build-image.sh', image], { cwd: repo, maxBuffer: 64 * 1024 * 1024 });
      chat = await harness.startChat();
    }, 1_800_000);

    afterAll(async () => {
      for (const container of containers) await run('docker', ['rm', '-f', container]).catch(() => {});
      await run('docker', ['rmi', '-f', image]).catch(() => {});
      await harness?.stop();
      await discord?.stop();
      await slack?.stop();
    });

    it('has a valid docker-compose.yml', async () => {
      const { stdout } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
        cwd: repo,
        env: { ...process.env, LABBOT_ENV_FILE: '.env.example' },
      });
      for (const service of ['redis:', 'registry:', 'runner:', 'discord:', 'slack:']) expect(stdout).toContain(service);
      expect(stdout).toContain('--appendonly');
    });

    it('runs a lab end to end with the runner from the image, driven by the local chat', async () => {
      const socketGroup = String(statSync('/var/run/docker.sock').gid);
      const metricsPort = await freePort();
      const runner = await start(
        'runner',
        {
          REDIS_URL: harness.redisUrl,
          LABBOT_REGISTRY: process.env.LABBOT_REGISTRY ?? '',
          LABBOT_BASE_IMAGE: process.env.LABBOT_BASE_IMAGE ?? 'labbot/busybox:1',
          LABBOT_METRICS_PORT: String(metricsPort),
          LABBOT_METRICS_HOST: '127.0.0.1',
        },
        // As infra/k8s/runner.yaml starts it: its Node flags, then the entry.
        runnerArgs(),
        [
          '--group-add',
          socketGroup,
          '-v',
          '/var/run/docker.sock:/var/run/docker.sock',
          '-v',
          `${harness.runnerKubeconfigPath}:/kube/config:ro`,
        ],
      );
      await waitForValue(
        'the runner container healthy',
        () => health(runner),
        (status) => status === 'healthy',
        { ...labWait, timeoutMs: 120_000 },
      );
      expect(await logsOf(runner)).toContain('labs run on the cluster of the kubeconfig');

      const labId = labIdFor({
        platform: 'local',
        workspaceId: 'local',
        userId: 'ada',
        lessonId: 'docker-vs-kubernetes',
      });
      await chat.type('start docker-vs-kubernetes', 'ada');
      const lab = await harness.waitForLab(labId, (record) => record.observed.phase === 'ready', 180_000);
      expect(lab.observed.pods.filter((pod) => pod.ready)).toHaveLength(3);
      const thread = await waitForValue(
        "texts.some((t) => t.includes('Running'))",
        () => chat.thread(lab),
        (texts) => texts.some((t) => t.includes('Running')),
        { ...labWait, timeoutMs: 30_000 },
      );
      expect(thread.join('\n')).toContain('Running');
    });

    it('starts the Discord and Slack bots from the image, healthy with their settings given', async () => {
      const common = { REDIS_URL: harness.redisUrl, LABBOT_METRICS_HOST: '127.0.0.1' };
      const discordBot = await start(
        'discord',
        {
          ...common,
          LABBOT_METRICS_PORT: String(await freePort()),
          LABBOT_DISCORD_TOKEN: discord.botToken,
          LABBOT_DISCORD_APPLICATION_ID: discord.applicationId,
          LABBOT_DISCORD_GUILD_ID: discord.guilds[0]?.id ?? '',
          LABBOT_DISCORD_API_URL: discord.apiUrl,
        },
        ['apps/discord/dist/main.js'],
      );
      const slackBot = await start(
        'slack',
        {
          ...common,
          LABBOT_METRICS_PORT: String(await freePort()),
          LABBOT_SLACK_BOT_TOKEN: slack.botToken,
          LABBOT_SLACK_SIGNING_SECRET: slack.signingSecret,
          LABBOT_SLACK_API_URL: slack.apiUrl,
          LABBOT_SLACK_HOST: '127.0.0.1',
          LABBOT_SLACK_PORT: String(await freePort()),
        },
        ['apps/slack/dist/main.js'],
      );
      for (const container of [discordBot, slackBot]) {
        const status = await waitForValue(
          "s === 'healthy' || s === 'unhealthy'",
          () => health(container),
          (s) => s === 'healthy' || s === 'unhealthy',
          { ...labWait, timeoutMs: 120_000 },
        );
        expect(status, await logsOf(container)).toBe('healthy');
      }
    });
  },
);
