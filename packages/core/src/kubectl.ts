import { z } from 'zod';

const USAGE = 'You can use: get, describe, logs, scale, delete pod, rollout status|history|undo.';

export const MAX_LOG_TAIL = 500;
export const MAX_SCALE_REPLICAS = 10;
/** The longest manifest text `/lab apply` takes (the runner parses it again with the same limit in bytes). */
export const MAX_MANIFEST_LENGTH = 64 * 1024;
const MAX_KUBECTL_ARGS = 24;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A Kubernetes object name (DNS-1123 subdomain: lowercase letters, digits, '-' and '.', at most 253). */
export const KubernetesNameSchema = z.string().max(253).regex(DNS1123_SUBDOMAIN);

export const GET_RESOURCES = ['pods', 'deployments', 'replicasets', 'events', 'services', 'all'] as const;
export type GetResource = (typeof GET_RESOURCES)[number];

/** A parsed, allowed kubectl command; always run in the learner's own namespace. */
export const KubectlCommandSchema = z.discriminatedUnion('verb', [
  z.object({
    verb: z.literal('get'),
    resource: z.enum(GET_RESOURCES),
    name: KubernetesNameSchema.optional(),
    wide: z.boolean(),
  }),
  z.object({ verb: z.literal('describe'), resource: z.enum(['pod', 'deployment']), name: KubernetesNameSchema }),
  z.object({
    verb: z.literal('logs'),
    pod: KubernetesNameSchema,
    tail: z.number().int().min(1).max(MAX_LOG_TAIL).optional(),
    previous: z.boolean(),
  }),
  z.object({
    verb: z.literal('scale'),
    deployment: KubernetesNameSchema,
    replicas: z.number().int().min(0).max(MAX_SCALE_REPLICAS),
  }),
  z.object({ verb: z.literal('delete'), resource: z.literal('pod'), name: KubernetesNameSchema }),
  z.object({ verb: z.literal('rollout-status'), deployment: KubernetesNameSchema }),
  z.object({ verb: z.literal('rollout-history'), deployment: KubernetesNameSchema }),
  z.object({
    verb: z.literal('rollout-undo'),
    deployment: KubernetesNameSchema,
    toRevision: z.number().int().min(1).optional(),
  }),
  /** A learner's own manifest (`/lab apply`): checked against the lab's policy by the runner before anything is sent. */
  z.object({
    verb: z.literal('apply'),
    manifest: z.string().min(1).max(MAX_MANIFEST_LENGTH),
    /** Where it came from (a file or attachment name), echoed back. */
    source: z.string().min(1).max(256).optional(),
  }),
]);
export type KubectlCommand = z.infer<typeof KubectlCommandSchema>;
export const KubectlCommand = KubectlCommandSchema;

export type KubectlParseResult = { ok: true; command: KubectlCommand } | { ok: false; error: string };

const RESOURCE_ALIASES: Record<string, GetResource> = {
  po: 'pods',
  pod: 'pods',
  pods: 'pods',
  deploy: 'deployments',
  deployment: 'deployments',
  deployments: 'deployments',
  'deployment.apps': 'deployments',
  'deployments.apps': 'deployments',
  rs: 'replicasets',
  replicaset: 'replicasets',
  replicasets: 'replicasets',
  ev: 'events',
  event: 'events',
  events: 'events',
  svc: 'services',
  service: 'services',
  services: 'services',
  all: 'all',
};

const REFUSED_VERBS: Record<string, string> = {
  exec: 'Running commands inside containers (kubectl exec) is not available in labs.',
  attach: 'Attaching to containers (kubectl attach) is not available in labs.',
  cp: 'Copying files (kubectl cp) is not available in labs.',
  'port-forward': 'Port forwarding is not available in labs.',
  proxy: 'kubectl proxy is not available in labs.',
  apply: 'Use "/lab apply" to apply your own manifest (attach or paste it); kubectl apply itself is not available.',
  create: 'Creating objects with kubectl create is not available in labs; labbot applies the lesson for you.',
  edit: 'Editing objects with kubectl edit is not available in labs; try "scale" or "delete pod" instead.',
  patch: 'Patching objects is not available in labs; try "scale" or "delete pod" instead.',
  replace: 'Replacing objects is not available in labs.',
  run: 'Starting pods with kubectl run is not available in labs.',
  debug: 'kubectl debug is not available in labs.',
  auth: 'kubectl auth is not available in labs.',
  config: 'kubectl config is not available in labs: labbot sets the connection for you.',
};

type Refusal = { test: (arg: string) => boolean; message: string };
const CONNECTION_MESSAGE = 'labbot sets the cluster connection for you, so connection options such as';
const REFUSED_FLAGS: Refusal[] = [
  {
    test: (a) => a === '-n' || (/^-n./.test(a) && !a.startsWith('--')) || /^--namespace(=|$)/.test(a),
    message: 'Every command runs in your own lab namespace, so -n/--namespace is not allowed.',
  },
  {
    test: (a) => a === '-A' || /^--all-namespaces(=|$)/.test(a),
    message: 'You can only see your own lab namespace, so -A/--all-namespaces is not allowed.',
  },
  ...[
    'kubeconfig',
    'context',
    'cluster',
    'user',
    'server',
    'token',
    'as',
    'as-group',
    'as-uid',
    'certificate-authority',
  ]
    .map((flag) => ({
      test: (a: string) => a === `--${flag}` || a.startsWith(`--${flag}=`),
      message: `${CONNECTION_MESSAGE} --${flag} are not allowed.`,
    }))
    .concat([
      {
        test: (a: string) => a === '-s' || (/^-s./.test(a) && !a.startsWith('--')),
        message: `${CONNECTION_MESSAGE} -s/--server are not allowed.`,
      },
    ]),
  {
    test: (a) => a === '-w' || /^--watch(-only)?(=|$)/.test(a),
    message: 'Watching is not available in chat; run the command again to see what changed.',
  },
];

function fail(error: string): KubectlParseResult {
  return { ok: false, error };
}

function quote(text: string): string {
  return `"${text.length > 40 ? `${text.slice(0, 40)}…` : text}"`;
}

function invalidName(name: string): string {
  return `${quote(name)} is not a valid Kubernetes name: use lowercase letters, digits, "-" and ".", starting and ending with a letter or digit.`;
}

/** Splits flags (with their values) from positional arguments; `valued` flags take the next arg unless given `=`. */
function splitArgs(
  args: string[],
  valued: readonly string[],
): { positional: string[]; flags: Map<string, string | true> } | string {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    // kubectl also takes the short output flag glued to its value: -owide.
    const glued = /^-o([^=].*)$/.exec(arg);
    if (glued) {
      if (flags.has('-o')) return 'The option -o is given twice.';
      flags.set('-o', glued[1] ?? '');
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (flags.has(flag)) return `The option ${flag} is given twice.`;
    if (eq !== -1) {
      flags.set(flag, arg.slice(eq + 1));
    } else if (valued.includes(flag)) {
      const value = args[i + 1];
      if (value === undefined || value.startsWith('-')) return `The option ${flag} needs a value.`;
      flags.set(flag, value);
      i++;
    } else {
      flags.set(flag, true);
    }
  }
  return { positional, flags };
}

function unknownFlags(flags: Map<string, string | true>, allowed: readonly string[], verb: string): string | undefined {
  for (const flag of flags.keys()) {
    if (!allowed.includes(flag)) return `The option ${flag} is not supported for kubectl ${verb} in labs.`;
  }
  return undefined;
}

/** Reads `type/name` or `type name`; returns [type, name | undefined, rest]. */
function typeAndName(positional: string[]): [string, string | undefined, string[]] {
  const first = positional[0] ?? '';
  const slash = first.indexOf('/');
  if (slash !== -1) return [first.slice(0, slash), first.slice(slash + 1), positional.slice(1)];
  return [first, positional[1], positional.slice(2)];
}

function parseGet(positional: string[], flags: Map<string, string | true>): KubectlParseResult {
  const unknown = unknownFlags(flags, ['-o', '--output'], 'get');
  if (unknown) return fail(unknown);
  const output = flags.get('-o') ?? flags.get('--output');
  if (flags.has('-o') && flags.has('--output')) return fail('Give the output format once.');
  if (output !== undefined && output !== 'wide') return fail('Only "-o wide" is supported as an output format.');
  if (positional.length === 0)
    return fail(`Say what to get, e.g. "kubectl get pods". Types: ${GET_RESOURCES.join(', ')}.`);
  const [type, name, rest] = typeAndName(positional);
  const resource = RESOURCE_ALIASES[type.toLowerCase()];
  if (!resource) return fail(`kubectl get supports only ${GET_RESOURCES.join(', ')}; not ${quote(type)}.`);
  if (rest.length > 0) return fail('kubectl get takes at most one name.');
  if (name !== undefined && resource === 'all') return fail('"kubectl get all" takes no name.');
  if (name !== undefined && !KubernetesNameSchema.safeParse(name).success) return fail(invalidName(name));
  return finish({ verb: 'get', resource, ...(name === undefined ? {} : { name }), wide: output === 'wide' });
}

function parseDescribe(positional: string[], flags: Map<string, string | true>): KubectlParseResult {
  const unknown = unknownFlags(flags, [], 'describe');
  if (unknown) return fail(unknown);
  const [type, name, rest] = typeAndName(positional);
  const resource = RESOURCE_ALIASES[type.toLowerCase()];
  if (resource !== 'pods' && resource !== 'deployments') {
    return fail('kubectl describe supports "pod NAME" and "deployment NAME".');
  }
  if (name === undefined || name === '')
    return fail(
      `Say which ${resource.slice(0, -1)} to describe, e.g. "kubectl describe ${resource.slice(0, -1)} NAME".`,
    );
  if (rest.length > 0) return fail('kubectl describe takes one name.');
  if (!KubernetesNameSchema.safeParse(name).success) return fail(invalidName(name));
  return finish({ verb: 'describe', resource: resource === 'pods' ? 'pod' : 'deployment', name });
}

function parseLogs(positional: string[], flags: Map<string, string | true>): KubectlParseResult {
  const unknown = unknownFlags(flags, ['--tail', '--previous', '-p'], 'logs');
  if (unknown) return fail(unknown);
  if (positional.length === 0) return fail('Say which pod, e.g. "kubectl logs POD --tail 50".');
  let pod = positional[0] ?? '';
  if (pod.includes('/')) {
    const [type, name] = [pod.slice(0, pod.indexOf('/')), pod.slice(pod.indexOf('/') + 1)];
    if (RESOURCE_ALIASES[type.toLowerCase()] !== 'pods')
      return fail('kubectl logs works on one pod: "kubectl logs POD".');
    pod = name;
  }
  if (positional.length > 1) return fail('kubectl logs takes one pod name (containers cannot be chosen in labs).');
  if (!KubernetesNameSchema.safeParse(pod).success) return fail(invalidName(pod));
  const tailValue = flags.get('--tail');
  let tail: number | undefined;
  if (tailValue !== undefined) {
    tail = typeof tailValue === 'string' && /^\d+$/.test(tailValue) ? Number(tailValue) : Number.NaN;
    if (!Number.isInteger(tail) || tail < 1 || tail > MAX_LOG_TAIL) {
      return fail(`--tail must be a whole number from 1 to ${MAX_LOG_TAIL}.`);
    }
  }
  const previousFlag = flags.get('--previous') ?? flags.get('-p');
  if (previousFlag !== undefined && previousFlag !== true && previousFlag !== 'true' && previousFlag !== 'false') {
    return fail('--previous takes no value.');
  }
  const previous = previousFlag === true || previousFlag === 'true';
  return finish({ verb: 'logs', pod, ...(tail === undefined ? {} : { tail }), previous });
}

function parseScale(positional: string[], flags: Map<string, string | true>): KubectlParseResult {
  const unknown = unknownFlags(flags, ['--replicas'], 'scale');
  if (unknown) return fail(unknown);
  const [type, name, rest] = typeAndName(positional);
  if (RESOURCE_ALIASES[type.toLowerCase()] !== 'deployments' || !name) {
    return fail('Use "kubectl scale deployment/NAME --replicas=N".');
  }
  if (rest.length > 0) return fail('kubectl scale takes one deployment.');
  if (!KubernetesNameSchema.safeParse(name).success) return fail(invalidName(name));
  const value = flags.get('--replicas');
  if (value === undefined) return fail('Say how many replicas, e.g. "--replicas=5".');
  const replicas = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > MAX_SCALE_REPLICAS) {
    return fail(`--replicas must be a whole number from 0 to ${MAX_SCALE_REPLICAS} in a lab.`);
  }
  return finish({ verb: 'scale', deployment: name, replicas });
}

function parseDelete(positional: string[], flags: Map<string, string | true>): KubectlParseResult {
  const unknown = unknownFlags(flags, [], 'delete');
  if (unknown) return fail(unknown);
  const [type, name, rest] = typeAndName(positional);
  if (RESOURCE_ALIASES[type.toLowerCase()] !== 'pods') {
    return fail('In labs you can only delete pods ("kubectl delete pod NAME"), to watch Kubernetes replace them.');
  }
  if (!name) return fail('Say which pod to delete: "kubectl delete pod NAME".');
  if (rest.length > 0) return fail('Delete one pod at a time: "kubectl delete pod NAME".');
  if (!KubernetesNameSchema.safeParse(name).success) return fail(invalidName(name));
  return finish({ verb: 'delete', resource: 'pod', name });
}

function parseRollout(positional: string[], flags: Map<string, string | true>): KubectlParseResult {
  const [sub, ...rest] = positional;
  if (sub !== 'status' && sub !== 'history' && sub !== 'undo') {
    return fail('Use "kubectl rollout status|history|undo deployment/NAME" in labs.');
  }
  const unknown = unknownFlags(flags, sub === 'undo' ? ['--to-revision'] : [], `rollout ${sub}`);
  if (unknown) return fail(unknown);
  const [type, name, extra] = typeAndName(rest);
  if (RESOURCE_ALIASES[type.toLowerCase()] !== 'deployments' || !name) {
    return fail(`Use "kubectl rollout ${sub} deployment/NAME".`);
  }
  if (extra.length > 0) return fail(`kubectl rollout ${sub} takes one deployment.`);
  if (!KubernetesNameSchema.safeParse(name).success) return fail(invalidName(name));
  if (sub === 'undo') {
    const value = flags.get('--to-revision');
    if (value === undefined) return finish({ verb: 'rollout-undo', deployment: name });
    const revision = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isInteger(revision) || revision < 1) return fail('--to-revision must be a revision number from 1 up.');
    return finish({ verb: 'rollout-undo', deployment: name, toRevision: revision });
  }
  return finish({ verb: sub === 'status' ? 'rollout-status' : 'rollout-history', deployment: name });
}

function finish(candidate: unknown): KubectlParseResult {
  const parsed = KubectlCommandSchema.safeParse(candidate);
  // The parsers above check every field, so this only fails on a bug; say so plainly.
  return parsed.success ? { ok: true, command: parsed.data } : fail('That kubectl command could not be understood.');
}

/**
 * Parses the arguments after `kubectl` into one allowed command, or a clear sentence saying why not.
 * Namespace, cluster and identity options are refused: a learner stays in their own namespace.
 */
export function parseKubectlArgs(args: readonly string[]): KubectlParseResult {
  const list = args.filter((arg) => arg !== '');
  if (list[0] === 'kubectl') list.shift();
  if (list.length === 0) return fail(`Say what kubectl should do. ${USAGE}`);
  if (list.length > MAX_KUBECTL_ARGS)
    return fail(`That kubectl command has too many arguments (at most ${MAX_KUBECTL_ARGS}).`);
  for (const arg of list) {
    for (const refusal of REFUSED_FLAGS) if (refusal.test(arg)) return fail(refusal.message);
  }
  const [verbText = '', ...rest] = list;
  const verb = verbText.toLowerCase();
  if (verb.startsWith('-')) return fail(`Start with the command, e.g. "kubectl get pods". ${USAGE}`);
  // Own keys only: a verb such as "__proto__" or "constructor" must not find Object's own properties.
  const refused = Object.hasOwn(REFUSED_VERBS, verb) ? REFUSED_VERBS[verb] : undefined;
  if (refused) return fail(`${refused} ${USAGE}`);
  const split = splitArgs(rest, ['-o', '--output', '--tail', '--replicas', '--to-revision']);
  if (typeof split === 'string') return fail(split);
  const { positional, flags } = split;
  switch (verb) {
    case 'get':
      return parseGet(positional, flags);
    case 'describe':
      return parseDescribe(positional, flags);
    case 'logs':
      return parseLogs(positional, flags);
    case 'scale':
      return parseScale(positional, flags);
    case 'delete':
      return parseDelete(positional, flags);
    case 'rollout':
      return parseRollout(positional, flags);
    default:
      return fail(`Unknown kubectl command ${quote(verbText)}. ${USAGE}`);
  }
}

/** The kubectl command line a learner would type for a parsed command (for echoing back in the thread). */
export function formatKubectlCommand(command: KubectlCommand): string {
  switch (command.verb) {
    case 'get':
      return `kubectl get ${command.resource}${command.name ? ` ${command.name}` : ''}${command.wide ? ' -o wide' : ''}`;
    case 'describe':
      return `kubectl describe ${command.resource} ${command.name}`;
    case 'logs':
      return `kubectl logs ${command.pod}${command.tail === undefined ? '' : ` --tail=${command.tail}`}${command.previous ? ' --previous' : ''}`;
    case 'scale':
      return `kubectl scale deployment/${command.deployment} --replicas=${command.replicas}`;
    case 'delete':
      return `kubectl delete pod ${command.name}`;
    case 'rollout-status':
      return `kubectl rollout status deployment/${command.deployment}`;
    case 'rollout-history':
      return `kubectl rollout history deployment/${command.deployment}`;
    case 'rollout-undo':
      return `kubectl rollout undo deployment/${command.deployment}${command.toRevision === undefined ? '' : ` --to-revision=${command.toRevision}`}`;
    case 'apply':
      return `kubectl apply --server-side -f ${command.source ?? '-'}`;
  }
}
