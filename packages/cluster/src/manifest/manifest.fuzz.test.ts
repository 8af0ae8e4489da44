// Hostile input (issue #13), property-based with fast-check: the learner-manifest validator behind /lab apply, on the
// in-memory cluster driver (the same parse, schema and policy checks as the real one). 1,000+ cases per generator:
// nothing throws, every problem is one short line (as the learner reads it), and a refused manifest applies nothing.
import { generateDeploymentYaml } from '@labbot/core';
import { refusalProblem } from '@labbot/test-support';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createMemoryClusterDriver } from '../testing/index.js';
import { formatManifestProblems } from './learner-manifest.js';

const RUNS = Number(process.env.LABBOT_FUZZ_RUNS ?? 1000);
// A thousand cases take seconds, more on a loaded machine: more than the unit tests' default 10 s.
const FUZZ_TIMEOUT_MS = 120_000;
const IMAGE = 'labbot/learner-abc123def456:0123456789abcdef';
const options = {
  namespace: 'lab-abc123def456',
  labId: 'abc123def456',
  maxReplicas: 6,
  images: { [IMAGE]: IMAGE },
  readOnlyRootFilesystem: false,
};
const valid = generateDeploymentYaml({ name: 'hello', replicas: 3 }, IMAGE);

/** Paths into a Deployment a learner might edit, with the values that attack them. */
const PATHS = [
  ['kind'],
  ['apiVersion'],
  ['metadata'],
  ['metadata', 'name'],
  ['metadata', 'namespace'],
  ['metadata', 'labels'],
  ['metadata', 'annotations'],
  ['metadata', 'ownerReferences'],
  ['spec'],
  ['spec', 'replicas'],
  ['spec', 'selector'],
  ['spec', 'template', 'spec', 'hostNetwork'],
  ['spec', 'template', 'spec', 'hostPID'],
  ['spec', 'template', 'spec', 'volumes'],
  ['spec', 'template', 'spec', 'serviceAccountName'],
  ['spec', 'template', 'spec', 'nodeName'],
  ['spec', 'template', 'spec', 'securityContext'],
  ['spec', 'template', 'spec', 'containers'],
  ['spec', 'template', 'spec', 'containers', 0, 'image'],
  ['spec', 'template', 'spec', 'containers', 0, 'securityContext'],
  ['spec', 'template', 'spec', 'containers', 0, 'command'],
  ['spec', 'template', 'spec', 'containers', 0, 'resources'],
  ['spec', 'template', 'metadata', 'labels'],
  ['status'],
  ['__proto__'],
  ['constructor', 'prototype'],
] as const;
const HOSTILE_VALUES = [
  null,
  true,
  -1,
  1e308,
  2 ** 53,
  '',
  'kube-system',
  'default',
  'docker.io/library/alpine',
  'x'.repeat(300),
  { privileged: true },
  { runAsUser: 0 },
  [{ name: 'host', hostPath: { path: '/' } }],
  [],
  {},
  ['a'],
  { matchLabels: { app: 'other' } },
  { __proto__: { polluted: true } },
  'Deployment',
  'apps/v1',
  'v1',
  'Pod',
];

function setPath(object: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = object;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = typeof key === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined)
    Object.defineProperty(node, last, { value, enumerable: true, configurable: true, writable: true });
}

/** The valid generated manifest with a few hostile edits, written back as YAML. */
const edited = fc
  .array(
    fc.tuple(fc.constantFrom(...PATHS), fc.oneof(fc.constantFrom(...HOSTILE_VALUES), fc.jsonValue({ maxDepth: 3 }))),
    {
      minLength: 1,
      maxLength: 4,
    },
  )
  .map((edits) => {
    const object = parse(valid) as Record<string, unknown>;
    for (const [path, value] of edits) setPath(object, path, value);
    return stringify(object);
  });

/** YAML a hostile learner writes by hand: aliases, tags, merge keys, many documents, odd scalars. */
const handWritten = fc
  .array(
    fc.constantFrom(
      '---\n',
      'a: &a [*a]\n',
      'b: *a\n',
      '<<: {x: 1}\n',
      '!!js/function f(){}\n',
      'kind: !!binary aGk=\n',
      'apiVersion: apps/v1\n',
      'kind: Deployment\n',
      'metadata: {name: hello}\n',
      'spec: {replicas: 99999}\n',
      '? [complex, key]\n: v\n',
      'x: 0x7fffffff\n',
      'y: .inf\n',
      'z: 1e999\n',
      '%YAML 1.1\n',
      '...\n',
      '  - \n',
      'kind: Secret\n',
      'kind: ClusterRoleBinding\n',
      'kind: Pod\n',
      '\t\n',
      '"\n',
      "'\n",
      '{\n',
      '[\n',
    ),
    { maxLength: 12 },
  )
  .map((lines) => lines.join(''));

const anyText = fc.oneof(
  { weight: 3, arbitrary: edited },
  { weight: 2, arbitrary: handWritten },
  { weight: 1, arbitrary: fc.string({ maxLength: 3000, unit: 'binary' }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => stringify(value)) },
);

describe('the learner-manifest validator, fuzzed', () => {
  it(
    'never throws; every problem is one short line; a refused manifest applies nothing',
    async () => {
      const driver = createMemoryClusterDriver();
      let refused = 0;
      await fc.assert(
        fc.asyncProperty(anyText, async (text) => {
          const before = JSON.stringify([...driver.deployments]);
          const result = await driver.applyLearnerManifest(text, options);
          if (result.ok) {
            // Accepted: it stays in the lab's namespace, with the lab's image only.
            const applied = driver.deployments.get(options.namespace) as
              | { metadata?: { namespace?: string } }
              | undefined;
            if (applied) expect(applied.metadata?.namespace).toBe(options.namespace);
            return;
          }
          refused += 1;
          expect(JSON.stringify([...driver.deployments]), text).toBe(before);
          expect(result.problems.length).toBeGreaterThan(0);
          for (const problem of result.problems) {
            expect(refusalProblem(`${problem.field} ${problem.message}`), text).toBeUndefined();
          }
          // What the learner reads: one line per problem (at most 10, then a count), each short.
          const lines = formatManifestProblems(result.problems).split('\n');
          expect(lines.length).toBeLessThanOrEqual(11);
          for (const line of lines) expect(refusalProblem(line), text).toBeUndefined();
        }),
        { numRuns: RUNS },
      );
      expect(refused).toBeGreaterThan(RUNS / 2);
    },
    FUZZ_TIMEOUT_MS,
  );

  it('the untouched generated manifest is accepted, so the fuzzing starts from something valid', async () => {
    const driver = createMemoryClusterDriver();
    expect(await driver.applyLearnerManifest(valid, options)).toMatchObject({ ok: true, desiredReplicas: 3 });
  });
});
