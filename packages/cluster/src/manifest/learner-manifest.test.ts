import { describe, expect, it } from 'vitest';
import { formatManifestProblems, type LearnerManifestOptions, prepareLearnerManifest } from './learner-manifest.js';
import { parseManifest } from './parse.js';

const V1 = 'labbot/rolling-update:1111';
const V2 = 'labbot/rolling-update:2222';
const options: LearnerManifestOptions = {
  namespace: 'lab-abc123',
  labId: 'abc123',
  maxReplicas: 6,
  images: { 'rolling-update:v1': V1, 'rolling-update:v2': V2 },
  readOnlyRootFilesystem: true,
};

const deployment = (pod = '', container = '', extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3${extra}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:${pod}
      containers:
        - name: web
          image: rolling-update:v2${container}
`;

function refusal(text: string) {
  const result = prepareLearnerManifest(text, options);
  if (result.ok) throw new Error('expected a refusal');
  return result.problems;
}

describe('a valid manifest', () => {
  it('becomes a Deployment in the lab namespace with the built image and the lab security context', () => {
    const result = prepareLearnerManifest(deployment(), options);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [object] = result.objects as unknown as {
      metadata: { namespace: string; labels: Record<string, string> };
      spec: {
        template: {
          metadata: { labels: Record<string, string> };
          spec: { containers: { image: string; securityContext: unknown }[]; automountServiceAccountToken: boolean };
        };
      };
    }[];
    expect(object?.metadata.namespace).toBe('lab-abc123');
    // The pod watch's label; the lab is the namespace's (nothing per lab on the pods).
    expect(object?.spec.template.metadata.labels['app.kubernetes.io/managed-by']).toBe('labbot');
    expect(object?.spec.template.metadata.labels['labbot.dev/lab']).toBeUndefined();
    const pod = object?.spec.template.spec;
    expect(pod?.containers[0]?.image).toBe(V2);
    expect(pod?.containers[0]?.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
    expect(pod?.automountServiceAccountToken).toBe(false);
  });

  it('takes several documents: a ConfigMap, a ClusterIP Service and a Deployment using the built tag itself', () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata: { name: web-config }
data: { greeting: hi }
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
${deployment().replace('rolling-update:v2', V1)}`;
    const result = prepareLearnerManifest(text, options);
    expect(result.ok && result.objects.map((object) => `${object.kind}/${object.metadata?.name}`)).toEqual([
      'ConfigMap/web-config',
      'Service/web',
      'Deployment/web',
    ]);
  });
});

describe('hostile manifests are refused with the field path and why', () => {
  const cases: [string, string, string, RegExp][] = [
    [
      'a hostPath volume',
      deployment('\n      volumes:\n        - name: root\n          hostPath: { path: / }'),
      'spec.template.spec.volumes[0].hostPath',
      /hostPath/,
    ],
    [
      'a privileged container',
      deployment('', '\n          securityContext:\n            privileged: true'),
      'spec.template.spec.containers[0].securityContext.privileged',
      /privileged/,
    ],
    [
      'added capabilities',
      deployment('', '\n          securityContext:\n            capabilities:\n              add: [NET_ADMIN]'),
      'spec.template.spec.containers[0].securityContext.capabilities.add',
      /capabilities/,
    ],
    ['hostNetwork', deployment('\n      hostNetwork: true'), 'spec.template.spec.hostNetwork', /network/],
    ['hostPID', deployment('\n      hostPID: true'), 'spec.template.spec.hostPID', /PID/],
    ['hostIPC', deployment('\n      hostIPC: true'), 'spec.template.spec.hostIPC', /IPC/],
    [
      'a NodePort service',
      'apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec:\n  type: NodePort\n  ports: [{ port: 80 }]\n',
      'spec.type',
      /only ClusterIP/,
    ],
    [
      'a LoadBalancer service',
      'apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec:\n  type: LoadBalancer\n  ports: [{ port: 80 }]\n',
      'spec.type',
      /only ClusterIP/,
    ],
    [
      'replicas above the ceiling',
      deployment().replace('replicas: 3', 'replicas: 50'),
      'spec.replicas',
      /ceiling of 6/,
    ],
    [
      'another namespace',
      deployment().replace('  name: web\n', '  name: web\n  namespace: kube-system\n'),
      'metadata.namespace',
      /another namespace/,
    ],
    [
      'an image not built for this lab',
      deployment().replace('rolling-update:v2', 'docker.io/library/alpine:3'),
      'spec.template.spec.containers[0].image',
      /not built for this lab/,
    ],
    [
      'a kind that is not allowed',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: { name: x }\n',
      'kind',
      /allowed: Deployment, Service, ConfigMap/,
    ],
    [
      'an unknown field',
      deployment('', '\n          imagePullPolice: Always'),
      'spec.template.spec.containers[0].imagePullPolice',
      /not a field Kubernetes knows/,
    ],
  ];
  it.each(cases)('%s', (_what, text, field, why) => {
    const problems = refusal(text);
    const problem = problems.find((candidate) => candidate.field === field);
    expect(problem, JSON.stringify(problems)).toBeDefined();
    expect(problem?.message).toMatch(why);
    expect(problem?.line).toBeGreaterThan(0);
    expect(formatManifestProblems(problems)).toContain(`document 1, line ${problem?.line}, ${field}: `);
  });
});

describe('the parser', () => {
  it('gives the line and the field of a syntax error', () => {
    const text = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web\nspec: {}\n';
    const result = parseManifest(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]?.document).toBe(1);
    expect(result.problems[0]?.field).toMatch(/^metadata\.labels/);
    expect(result.problems[0]?.line).toBeGreaterThanOrEqual(5);
    expect(result.problems[0]?.message).toMatch(/is not valid YAML/);
  });

  it('refuses a key given twice', () => {
    const result = parseManifest('kind: Service\nkind: Deployment\n');
    expect(!result.ok && result.problems[0]?.message).toMatch(/unique|duplicate/i);
  });

  it('refuses an alias bomb without expanding it, and uses little memory doing so', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let level = 1; level < 9; level++) {
      const previous = String.fromCharCode(96 + level);
      const name = String.fromCharCode(97 + level);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    const before = process.memoryUsage().heapUsed;
    const result = parseManifest(levels.join('\n'));
    const grown = process.memoryUsage().heapUsed - before;
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems[0]).toMatchObject({ line: 1, field: 'a' });
    expect(!result.ok && result.problems[0]?.message).toMatch(/anchor/);
    // Expanded, this would be 9^9 strings (gigabytes); refused, it stays far below that.
    expect(grown).toBeLessThan(50 * 1024 * 1024);
  });

  it('refuses merge keys and tags', () => {
    const merged = parseManifest('metadata:\n  <<: {name: web}\n');
    expect(!merged.ok && merged.problems[0]).toMatchObject({ field: 'metadata', line: 2 });
    expect(!merged.ok && merged.problems[0]?.message).toMatch(/merge key/);
    const tagged = parseManifest('data: !!binary aGVsbG8=\n');
    expect(!tagged.ok && tagged.problems[0]?.message).toMatch(/tag/);
    expect(parseManifest('data: !!str 5\n').ok).toBe(true);
  });

  it('refuses a key that is a list or a mapping, naming its line, and prints no process warning', () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const result = parseManifest('kind: Pod\nmetadata:\n  ? [complex, key]\n  : v\n');
      expect(!result.ok && result.problems[0]).toMatchObject({ field: 'metadata', line: 3 });
      expect(!result.ok && result.problems[0]?.message).toMatch(/key that is a list or a mapping/);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('refuses a 20 MB document before parsing it', () => {
    const huge = `data:\n  blob: "${'x'.repeat(20 * 1024 * 1024)}"\n`;
    const before = process.memoryUsage().heapUsed;
    const result = parseManifest(huge);
    const grown = process.memoryUsage().heapUsed - before;
    expect(!result.ok && result.problems[0]?.message).toMatch(/too large \(20\.0 MB\); the limit is 64 KiB/);
    expect(grown).toBeLessThan(10 * 1024 * 1024);
  });

  it('refuses more documents than allowed, and an empty manifest', () => {
    const many = Array.from({ length: 11 }, (_, index) => `kind: ConfigMap\nmetadata: {name: c${index}}`).join(
      '\n---\n',
    );
    expect(
      !parseManifest(many).ok && (parseManifest(many) as { problems: { message: string }[] }).problems[0]?.message,
    ).toMatch(/11 documents; at most 10/);
    expect(parseManifest('  \n').ok).toBe(false);
  });
});
