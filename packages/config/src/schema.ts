import { z } from 'zod';

/** Variables whose values are secrets: never printed, never logged. */
export const SECRET_VARIABLES = new Set([
  'LABBOT_DISCORD_TOKEN',
  'LABBOT_SLACK_BOT_TOKEN',
  'LABBOT_SLACK_SIGNING_SECRET',
  'LABBOT_SLACK_APP_TOKEN',
  'LABBOT_REGISTRY_PASSWORD',
]);

const emptyToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const integer = (fallback: number, min: number, max: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).default(fallback));
const portNumber = z.coerce.number().int().min(1).max(65535);
const optionalPort = z.preprocess(emptyToUndefined, portNumber.optional());
const port = (fallback: number) => z.preprocess(emptyToUndefined, portNumber.default(fallback));
const httpUrl = (fallback: string) =>
  z.preprocess(
    emptyToUndefined,
    z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).default(fallback),
  );
const list = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean)
      : value,
  z.array(z.string()).default([]),
);
const quantity = (fallback: string, pattern: RegExp, what: string) =>
  z.preprocess(emptyToUndefined, z.string().regex(pattern, `must be a Kubernetes ${what}`).default(fallback));
const cpuQuantity = (fallback: string) => quantity(fallback, /^\d+(\.\d+)?m?$/, 'CPU quantity (e.g. 500m or 2)');
const memoryQuantity = (fallback: string) =>
  quantity(fallback, /^\d+(Ki|Mi|Gi|K|M|G)?$/, 'memory quantity (e.g. 512Mi)');

/** `N/<seconds>s`: at most N uses in any window of that many seconds (e.g. `5/60s`); `off` for no limit. */
const rateLimit = (fallback: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^(off|\d{1,5}\/\d{1,6}s)$/, 'must be N/<seconds>s (e.g. 5/60s: five uses a minute) or off')
      .default(fallback)
      .transform((value) => {
        if (value === 'off') return undefined;
        const [count = '0', seconds = '0'] = value.slice(0, -1).split('/');
        return { limit: Number(count), windowMs: Number(seconds) * 1000 };
      })
      .refine((rule) => rule === undefined || (rule.limit > 0 && rule.windowMs > 0), 'needs N ≥ 1 and seconds ≥ 1'),
  );

/** The environment labbot reads, one variable per field; see .env.example for each one's meaning. */
export const EnvironmentSchema = z.object({
  NODE_ENV: z.preprocess(emptyToUndefined, z.enum(['development', 'production', 'test']).default('development')),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  REDIS_URL: z.preprocess(
    emptyToUndefined,
    z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).default('redis://127.0.0.1:6390'),
  ),
  DOCKER_HOST: optionalString.pipe(
    z
      .string()
      .regex(/^(unix|tcp|npipe):\/\//, 'must start with unix://, tcp:// or npipe://')
      .optional(),
  ),
  DOCKER_TLS_VERIFY: z.preprocess(
    emptyToUndefined,
    z
      .enum(['0', '1', 'true', 'false'])
      .optional()
      .transform((value) => value === '1' || value === 'true'),
  ),
  DOCKER_CERT_PATH: optionalString,
  LABBOT_CLUSTER: z.preprocess(emptyToUndefined, z.enum(['auto', 'sim', 'kubeconfig', 'in-cluster']).default('auto')),
  KUBECONFIG: optionalString,
  KUBERNETES_SERVICE_HOST: optionalString,
  LABBOT_SIM_PORT: optionalPort,
  LABBOT_SIM_KUBELET: z.preprocess(emptyToUndefined, z.enum(['docker', 'virtual']).default('docker')),
  /** The embedded kube-sim's nodes and the pods each takes (what the class capacity check sees). */
  LABBOT_SIM_NODES: integer(8, 1, 1000),
  LABBOT_SIM_PODS_PER_NODE: integer(110, 1, 10_000),
  LABBOT_REGISTRY: optionalString.pipe(
    z
      .string()
      .regex(/^[a-z0-9.-]+(:\d{1,5})?$/i, 'must be host[:port] of a registry, without a scheme (e.g. 127.0.0.1:5050)')
      .optional(),
  ),
  LABBOT_REGISTRY_USERNAME: optionalString,
  LABBOT_REGISTRY_PASSWORD: optionalString,
  LABBOT_REGISTRY_PULL: optionalString.pipe(
    z
      .string()
      .regex(
        /^[a-z0-9.-]+(:\d{1,5})?$/i,
        'must be host[:port] of the registry as the cluster nodes see it, without a scheme',
      )
      .optional(),
  ),
  LABBOT_BASE_IMAGE: z.preprocess(emptyToUndefined, z.string().min(1).default('labbot/busybox:1')),
  LABBOT_LESSONS_DIR: optionalString,
  LABBOT_DISCORD_TOKEN: optionalString,
  LABBOT_DISCORD_APPLICATION_ID: optionalString.pipe(
    z
      .string()
      .regex(/^\d{5,25}$/, 'must be a numeric id')
      .optional(),
  ),
  LABBOT_DISCORD_GUILD_ID: optionalString.pipe(
    z
      .string()
      .regex(/^\d{5,25}$/, 'must be a numeric id')
      .optional(),
  ),
  LABBOT_DISCORD_API_URL: httpUrl('https://discord.com/api'),
  LABBOT_SLACK_BOT_TOKEN: optionalString.pipe(
    z.string().startsWith('xoxb-', 'must be a bot token (xoxb-...)').optional(),
  ),
  LABBOT_SLACK_SIGNING_SECRET: optionalString,
  LABBOT_SLACK_APP_TOKEN: optionalString.pipe(
    z.string().startsWith('xapp-', 'must be an app token (xapp-...)').optional(),
  ),
  LABBOT_SLACK_MODE: z.preprocess(emptyToUndefined, z.enum(['http', 'socket']).default('http')),
  LABBOT_SLACK_API_URL: httpUrl('https://slack.com/api/'),
  LABBOT_SLACK_PORT: port(3000),
  LABBOT_SLACK_HOST: z.preprocess(emptyToUndefined, z.string().min(1).default('127.0.0.1')),
  LABBOT_METRICS_PORT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).max(65535).optional()),
  LABBOT_METRICS_HOST: z.preprocess(emptyToUndefined, z.string().min(1).default('0.0.0.0')),
  LABBOT_INSTRUCTOR_ROLES: list,
  LABBOT_INSTRUCTOR_USERS: list,
  /** Slack user group ids (S...) whose members are instructors. */
  LABBOT_INSTRUCTOR_SLACK_GROUPS: list,
  LABBOT_ADMIN_USERS: list,
  LABBOT_ADMIN_ROLES: list,
  LABBOT_CLASS_MAX_LEARNERS: integer(200, 1, 500),
  /** Labs of one class provisioned at once (the rest wait in join order). */
  LABBOT_CLASS_MAX_CONCURRENT_PROVISIONS: integer(12, 1, 200),
  /** Most minutes an instructor may add to a class lab beyond the class's lab lifetime (/lab class extend). */
  LABBOT_CLASS_MAX_EXTENSION_MINUTES: integer(120, 0, 24 * 60),
  /** Labs one runner reconciles at once, all classes and plain labs together. */
  LABBOT_RUNNER_CONCURRENCY: integer(16, 1, 200),
  LABBOT_MAX_LABS_PER_USER: integer(3, 1, 50),
  LABBOT_MAX_ACTIVE_LABS: integer(200, 1, 100_000),
  LABBOT_MAX_CONCURRENT_BUILDS: integer(2, 1, 64),
  /**
   * One-off container runs (each lab's own `docker run` step) at once in one runner; the rest wait in the order they
   * asked. A Docker engine starts containers at about the same rate from 3 at once up (bench/class.ts).
   */
  LABBOT_MAX_CONCURRENT_RUNS: integer(8, 1, 200),
  LABBOT_LAB_TTL_MINUTES: integer(60, 1, 24 * 60),
  LABBOT_RATE_LIMIT_START: rateLimit('5/60s'),
  LABBOT_RATE_LIMIT_KUBECTL: rateLimit('30/60s'),
  LABBOT_RATE_LIMIT_CHECK: rateLimit('15/60s'),
  LABBOT_EXPIRY_WARNING_MINUTES: integer(5, 0, 24 * 60),
  LABBOT_CEILING_CPU: cpuQuantity('2'),
  LABBOT_CEILING_MEMORY: memoryQuantity('2Gi'),
  LABBOT_CEILING_PODS: integer(12, 1, 200),
});

export type Environment = z.output<typeof EnvironmentSchema>;
