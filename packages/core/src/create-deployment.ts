import { z } from 'zod';
import { KubernetesNameSchema, MAX_SCALE_REPLICAS } from './kubectl.js';

/**
 * `kubectl create deployment NAME --image=IMAGE --replicas=N --dry-run=client -o yaml`: the way kubectl
 * users get a manifest without writing YAML. labbot only prints it (nothing is sent to the cluster).
 */
export const CreateDeploymentCommandSchema = z.object({
  name: KubernetesNameSchema.max(63),
  /** The image the learner typed; labbot prints the lab's own image in the manifest. */
  image: z.string().min(1).max(512).optional(),
  replicas: z.number().int().min(1).max(MAX_SCALE_REPLICAS),
  port: z.number().int().min(1).max(65_535).optional(),
});
export type CreateDeploymentCommand = z.infer<typeof CreateDeploymentCommandSchema>;

export type CreateDeploymentParseResult = { ok: true; command: CreateDeploymentCommand } | { ok: false; error: string };

const USAGE = 'Use: kubectl create deployment NAME --image=IMAGE --replicas=3 --dry-run=client -o yaml';

/** Whether kubectl arguments are a `create deployment` (so they are generated here, never run). */
export function isCreateDeployment(args: readonly string[]): boolean {
  const list = args.filter((arg) => arg !== '');
  if (list[0] === 'kubectl') list.shift();
  return list[0]?.toLowerCase() === 'create' && ['deployment', 'deploy'].includes(list[1]?.toLowerCase() ?? '');
}

/** Parses `create deployment ...`; only a client-side dry run printed as YAML is accepted. */
export function parseCreateDeployment(args: readonly string[]): CreateDeploymentParseResult {
  const list = args.filter((arg) => arg !== '');
  if (list[0] === 'kubectl') list.shift();
  const rest = list.slice(2);
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let index = 0; index < rest.length; index++) {
    const arg = rest[index] ?? '';
    if (!arg.startsWith('-')) {
      positional.push(arg);
      continue;
    }
    const glued = /^-o(.+)$/.exec(arg);
    const eq = arg.indexOf('=');
    let flag = eq === -1 ? arg : arg.slice(0, eq);
    let value = eq === -1 ? undefined : arg.slice(eq + 1);
    if (glued && !arg.startsWith('-o=')) {
      flag = '-o';
      value = glued[1];
    }
    if (value === undefined) {
      value = rest[index + 1];
      if (value === undefined || value.startsWith('-'))
        return { ok: false, error: `The option ${flag.slice(0, 40)} needs a value. ${USAGE}` };
      index++;
    }
    if (flag === '--output') flag = '-o';
    if (flags.has(flag)) return { ok: false, error: `The option ${flag.slice(0, 40)} is given twice.` };
    flags.set(flag, value);
  }
  for (const flag of flags.keys()) {
    if (!['--image', '--replicas', '--dry-run', '-o', '--port'].includes(flag)) {
      const namespace = flag === '-n' || flag === '--namespace';
      return {
        ok: false,
        error: namespace
          ? 'Every command runs in your own lab namespace, so -n/--namespace is not allowed.'
          : `The option ${flag.slice(0, 40)} is not supported for kubectl create deployment in labs. ${USAGE}`,
      };
    }
  }
  if (flags.get('--dry-run') !== 'client' || flags.get('-o') !== 'yaml') {
    return {
      ok: false,
      error:
        'In labs, kubectl create deployment only prints the manifest: add --dry-run=client -o yaml, then edit it and send it with /lab apply.',
    };
  }
  const [name, ...extra] = positional;
  if (!name || extra.length > 0) return { ok: false, error: `Give one deployment name. ${USAGE}` };
  if (!KubernetesNameSchema.max(63).safeParse(name).success) {
    return {
      ok: false,
      error: `"${name.slice(0, 40)}" is not a valid Kubernetes name: use lowercase letters, digits and "-", starting and ending with a letter or digit.`,
    };
  }
  const replicasText = flags.get('--replicas') ?? '1';
  const replicas = /^\d+$/.test(replicasText) ? Number(replicasText) : Number.NaN;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_SCALE_REPLICAS) {
    return { ok: false, error: `--replicas must be a whole number from 1 to ${MAX_SCALE_REPLICAS} in a lab.` };
  }
  const portText = flags.get('--port');
  const port = portText === undefined ? undefined : /^\d+$/.test(portText) ? Number(portText) : Number.NaN;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
    return { ok: false, error: '--port must be a port number from 1 to 65535.' };
  }
  const image = flags.get('--image');
  const parsed = CreateDeploymentCommandSchema.safeParse({
    name,
    replicas,
    ...(image ? { image } : {}),
    ...(port === undefined ? {} : { port }),
  });
  return parsed.success
    ? { ok: true, command: parsed.data }
    : { ok: false, error: `That command could not be understood. ${USAGE}` };
}

/** kubectl's container name for an image: the last path part without tag or digest. */
export function containerNameFor(image: string): string {
  const last = image.split('/').at(-1) ?? image;
  const name = last.split('@')[0]?.split(':')[0] ?? last;
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned.slice(0, 63) || 'app';
}

/** The manifest exactly as `kubectl create deployment ... --dry-run=client -o yaml` (1.32) prints it. */
export function generateDeploymentYaml(command: CreateDeploymentCommand, image: string): string {
  const { name, replicas, port } = command;
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  creationTimestamp: null',
    '  labels:',
    `    app: ${name}`,
    `  name: ${name}`,
    'spec:',
    `  replicas: ${replicas}`,
    '  selector:',
    '    matchLabels:',
    `      app: ${name}`,
    '  strategy: {}',
    '  template:',
    '    metadata:',
    '      creationTimestamp: null',
    '      labels:',
    `        app: ${name}`,
    '    spec:',
    '      containers:',
    `      - image: ${image}`,
    `        name: ${containerNameFor(image)}`,
    ...(port === undefined ? [] : ['        ports:', `        - containerPort: ${port}`]),
    '        resources: {}',
    'status: {}',
    '',
  ].join('\n');
}
