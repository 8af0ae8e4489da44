import { LabbotError } from '@labbot/core';
import type { z } from 'zod';
import { type Environment, EnvironmentSchema, SECRET_VARIABLES } from './schema.js';

export type ClusterMode = 'sim' | 'kubeconfig' | 'in-cluster';

/** labbot's typed configuration, grouped by concern. */
export interface LabbotConfig {
  env: Environment['NODE_ENV'];
  logLevel: Environment['LOG_LEVEL'];
  redisUrl: string;
  /** The Docker engine: DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as the docker CLI reads them. */
  docker: { host: string | undefined; tlsVerify: boolean; certPath: string | undefined };
  cluster: {
    mode: ClusterMode;
    kubeconfigPath: string | undefined;
    simPort: number | undefined;
    simKubelet: 'docker' | 'virtual';
    /** The embedded kube-sim's node count and pods per node. */
    simNodes: { count: number; podsPerNode: number };
  };
  registry: string | undefined;
  /** Basic-auth credentials of the registry (push, and each lab namespace's imagePullSecret); never logged. */
  registryCredentials: { username: string; password: string } | undefined;
  /** The registry's address as the cluster's nodes see it, when it differs from `registry`. */
  registryPull: string | undefined;
  baseImage: string;
  lessonsDir: string | undefined;
  discord: {
    token: string | undefined;
    applicationId: string | undefined;
    guildId: string | undefined;
    apiUrl: string;
  };
  slack: {
    botToken: string | undefined;
    signingSecret: string | undefined;
    appToken: string | undefined;
    mode: 'http' | 'socket';
    apiUrl: string;
    port: number;
    /** Bind address of the HTTP receiver (0.0.0.0 in a container, so a published port reaches it). */
    host: string;
  };
  /** /metrics, /healthz and /readyz; off when port is undefined. */
  metrics: { port: number | undefined; host: string };
  /** Instructor role ids (Discord; names only with a start-up warning) and user ids (Slack, Discord). */
  instructors: { roles: string[]; users: string[]; slackGroups: string[] };
  /** Admins may end any class: user ids, or role ids. */
  admins: { users: string[]; roles: string[] };
  /** Class limits (operator ceilings): learners per class, labs of one class provisioned at once. */
  classes: { maxLearners: number; maxConcurrentProvisions: number; maxExtensionMinutes: number };
  /** Labs one runner reconciles at once. */
  runner: { concurrency: number };
  /** Per-learner limits of /lab start, /lab kubectl and /lab check (undefined: not limited). */
  rateLimits: {
    start: RateLimitSetting | undefined;
    kubectl: RateLimitSetting | undefined;
    check: RateLimitSetting | undefined;
  };
  limits: {
    maxLabsPerUser: number;
    maxActiveLabs: number;
    maxConcurrentBuilds: number;
    /** One-off container runs at once in one runner. */
    maxConcurrentRuns: number;
    labTtlMinutes: number;
    expiryWarningMinutes: number;
    ceilings: { cpu: string; memory: string; pods: number };
  };
}

/** At most `limit` uses in any `windowMs`. */
interface RateLimitSetting {
  limit: number;
  windowMs: number;
}

/** Which chat platform's credentials a process needs; the platform's app asks for its own. */
export type ConfigRequirement = 'discord' | 'slack';

export interface LoadConfigOptions {
  require?: ConfigRequirement[];
}

/** A configuration problem: one line per variable, values of secrets never included. */
export class ConfigError extends LabbotError {
  readonly problems: string[];
  constructor(problems: string[]) {
    const count = problems.length === 1 ? '1 setting is' : `${problems.length} settings are`;
    super('CONFIG_INVALID', `labbot cannot start: ${count} wrong:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function describeIssue(issue: z.core.$ZodIssue, env: Record<string, string | undefined>): string {
  const variable = String(issue.path[0] ?? 'environment');
  const raw = env[variable];
  const shown = raw === undefined || SECRET_VARIABLES.has(variable) ? '' : ` (got "${raw.slice(0, 80)}")`;
  let message = issue.message;
  if (issue.code === 'invalid_value') message = `must be one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'invalid_type' && /number/.test(issue.expected)) message = 'must be a whole number';
  if (issue.code === 'too_small' || issue.code === 'too_big') {
    const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
    message = `must be ${bound}`;
  }
  return `${variable}: ${message}${shown}`;
}

/** Credentials a chat app cannot run without, checked on the raw environment so every problem shows at once. */
function missingRequirements(env: Record<string, string | undefined>, required: ConfigRequirement[]): string[] {
  const has = (name: string) => Boolean(env[name]?.trim());
  const problems: string[] = [];
  if (required.includes('discord')) {
    if (!has('LABBOT_DISCORD_TOKEN'))
      problems.push('LABBOT_DISCORD_TOKEN: missing (the bot token of your Discord application)');
    if (!has('LABBOT_DISCORD_APPLICATION_ID'))
      problems.push('LABBOT_DISCORD_APPLICATION_ID: missing (your application id)');
  }
  if (required.includes('slack')) {
    if (!has('LABBOT_SLACK_BOT_TOKEN')) problems.push('LABBOT_SLACK_BOT_TOKEN: missing (the xoxb- bot token)');
    if (!has('LABBOT_SLACK_SIGNING_SECRET')) {
      problems.push('LABBOT_SLACK_SIGNING_SECRET: missing (Basic Information → Signing Secret)');
    }
    if (env.LABBOT_SLACK_MODE === 'socket' && !has('LABBOT_SLACK_APP_TOKEN')) {
      problems.push('LABBOT_SLACK_APP_TOKEN: missing (an xapp- token is needed when LABBOT_SLACK_MODE=socket)');
    }
  }
  return problems;
}

function clusterMode(env: Environment): ClusterMode {
  if (env.LABBOT_CLUSTER !== 'auto') return env.LABBOT_CLUSTER;
  if (env.KUBECONFIG) return 'kubeconfig';
  if (env.KUBERNETES_SERVICE_HOST) return 'in-cluster';
  return 'sim';
}

/** Reads the environment into a LabbotConfig, or throws one ConfigError listing every problem. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  options: LoadConfigOptions = {},
): LabbotConfig {
  const parsed = EnvironmentSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => describeIssue(issue, env));
  problems.push(...missingRequirements(env, options.require ?? []));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const mode = clusterMode(e);
  if (mode === 'kubeconfig' && !e.KUBECONFIG) {
    problems.push('KUBECONFIG: must name a kubeconfig file when LABBOT_CLUSTER=kubeconfig');
  }
  if (mode === 'in-cluster' && !e.KUBERNETES_SERVICE_HOST) {
    problems.push('LABBOT_CLUSTER: in-cluster needs KUBERNETES_SERVICE_HOST (set by Kubernetes inside a pod)');
  }
  if (Boolean(e.LABBOT_REGISTRY_USERNAME) !== Boolean(e.LABBOT_REGISTRY_PASSWORD)) {
    problems.push('LABBOT_REGISTRY_USERNAME / LABBOT_REGISTRY_PASSWORD: set both or neither');
  }
  if ((e.LABBOT_REGISTRY_USERNAME || e.LABBOT_REGISTRY_PULL) && !e.LABBOT_REGISTRY) {
    problems.push('LABBOT_REGISTRY: must be set when registry credentials or LABBOT_REGISTRY_PULL are');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    redisUrl: e.REDIS_URL,
    docker: { host: e.DOCKER_HOST, tlsVerify: e.DOCKER_TLS_VERIFY, certPath: e.DOCKER_CERT_PATH },
    cluster: {
      mode,
      kubeconfigPath: e.KUBECONFIG,
      simPort: e.LABBOT_SIM_PORT,
      simKubelet: e.LABBOT_SIM_KUBELET,
      simNodes: { count: e.LABBOT_SIM_NODES, podsPerNode: e.LABBOT_SIM_PODS_PER_NODE },
    },
    registry: e.LABBOT_REGISTRY,
    registryCredentials:
      e.LABBOT_REGISTRY_USERNAME && e.LABBOT_REGISTRY_PASSWORD
        ? { username: e.LABBOT_REGISTRY_USERNAME, password: e.LABBOT_REGISTRY_PASSWORD }
        : undefined,
    registryPull: e.LABBOT_REGISTRY_PULL,
    baseImage: e.LABBOT_BASE_IMAGE,
    lessonsDir: e.LABBOT_LESSONS_DIR,
    discord: {
      token: e.LABBOT_DISCORD_TOKEN,
      applicationId: e.LABBOT_DISCORD_APPLICATION_ID,
      guildId: e.LABBOT_DISCORD_GUILD_ID,
      apiUrl: e.LABBOT_DISCORD_API_URL,
    },
    slack: {
      botToken: e.LABBOT_SLACK_BOT_TOKEN,
      signingSecret: e.LABBOT_SLACK_SIGNING_SECRET,
      appToken: e.LABBOT_SLACK_APP_TOKEN,
      mode: e.LABBOT_SLACK_MODE,
      apiUrl: e.LABBOT_SLACK_API_URL,
      port: e.LABBOT_SLACK_PORT,
      host: e.LABBOT_SLACK_HOST,
    },
    metrics: { port: e.LABBOT_METRICS_PORT, host: e.LABBOT_METRICS_HOST },
    instructors: {
      roles: e.LABBOT_INSTRUCTOR_ROLES,
      users: e.LABBOT_INSTRUCTOR_USERS,
      slackGroups: e.LABBOT_INSTRUCTOR_SLACK_GROUPS,
    },
    admins: { users: e.LABBOT_ADMIN_USERS, roles: e.LABBOT_ADMIN_ROLES },
    classes: {
      maxLearners: e.LABBOT_CLASS_MAX_LEARNERS,
      maxConcurrentProvisions: e.LABBOT_CLASS_MAX_CONCURRENT_PROVISIONS,
      maxExtensionMinutes: e.LABBOT_CLASS_MAX_EXTENSION_MINUTES,
    },
    runner: { concurrency: e.LABBOT_RUNNER_CONCURRENCY },
    rateLimits: {
      start: e.LABBOT_RATE_LIMIT_START,
      kubectl: e.LABBOT_RATE_LIMIT_KUBECTL,
      check: e.LABBOT_RATE_LIMIT_CHECK,
    },
    limits: {
      maxLabsPerUser: e.LABBOT_MAX_LABS_PER_USER,
      maxActiveLabs: e.LABBOT_MAX_ACTIVE_LABS,
      maxConcurrentBuilds: e.LABBOT_MAX_CONCURRENT_BUILDS,
      maxConcurrentRuns: e.LABBOT_MAX_CONCURRENT_RUNS,
      labTtlMinutes: e.LABBOT_LAB_TTL_MINUTES,
      expiryWarningMinutes: e.LABBOT_EXPIRY_WARNING_MINUTES,
      ceilings: { cpu: e.LABBOT_CEILING_CPU, memory: e.LABBOT_CEILING_MEMORY, pods: e.LABBOT_CEILING_PODS },
    },
  };
}

/** For a process's start: the config, or the problem list on stderr and exit code 78 (no stack trace). */
export function loadConfigOrExit(options: LoadConfigOptions = {}, env = process.env): LabbotConfig {
  try {
    return loadConfig(env, options);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee .env.example for every setting.\n`);
      process.exit(78);
    }
    throw error;
  }
}
