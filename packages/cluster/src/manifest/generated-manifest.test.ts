import { generateDeploymentYaml, parseLabCommand } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { prepareLearnerManifest } from './learner-manifest.js';

// The manifest labbot prints for `/lab kubectl create deployment ... --dry-run=client -o yaml` is what the learner
// sends back with /lab apply: it must be accepted as printed (kubectl's empty fields included).
const IMAGE = 'labbot/learner-abc123def456:0123456789abcdef';
const options = {
  namespace: 'lab-abc123',
  labId: 'abc123',
  maxReplicas: 6,
  images: { [IMAGE]: IMAGE },
  readOnlyRootFilesystem: false,
};

function generated(): string {
  const parsed = parseLabCommand('kubectl create deployment hello --image=IMAGE --replicas=3 --dry-run=client -o yaml');
  if (!parsed.ok || parsed.command.kind !== 'create-deployment') throw new Error('not a create deployment command');
  return generateDeploymentYaml(parsed.command.create, IMAGE);
}

describe('the generated manifest', () => {
  it('is accepted as printed, and its empty status is not sent', () => {
    const text = generated();
    expect(text).toContain('status: {}');
    const result = prepareLearnerManifest(text, options);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (!result.ok) return;
    expect(result.objects).toHaveLength(1);
    expect(result.objects[0]).not.toHaveProperty('status');
    expect(result.objects[0]?.metadata?.namespace).toBe('lab-abc123');
  });

  it('still refuses a status with something in it', () => {
    const result = prepareLearnerManifest(generated().replace('status: {}', 'status:\n  replicas: 3'), options);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      { field: 'status', message: 'is written by Kubernetes, not by you', document: 1, line: 25 },
    ]);
  });
});
