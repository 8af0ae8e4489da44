import { describe, expect, it } from 'vitest';
import { parseLabCommand } from './commands.js';
import { containerNameFor, generateDeploymentYaml, parseCreateDeployment } from './create-deployment.js';

const words = (text: string) => text.split(' ');

describe('kubectl create deployment --dry-run=client -o yaml', () => {
  it("parses the material's command into a manifest request, never a command for the cluster", () => {
    const parsed = parseLabCommand(
      'kubectl create deployment hello --image=hello:1 --replicas=3 --dry-run=client -o yaml',
    );
    expect(parsed).toEqual({
      ok: true,
      command: { kind: 'create-deployment', create: { name: 'hello', image: 'hello:1', replicas: 3 } },
    });
    expect(parseCreateDeployment(words('create deploy web --image IMAGE --dry-run=client -oyaml --port 8080'))).toEqual(
      {
        ok: true,
        command: { name: 'web', image: 'IMAGE', replicas: 1, port: 8080 },
      },
    );
  });

  it('refuses what would reach the cluster or leave the namespace, saying what to type', () => {
    const refusal = (text: string) => {
      const parsed = parseLabCommand(text);
      return parsed.ok ? '' : parsed.error;
    };
    expect(refusal('kubectl create deployment hello --image=x --replicas=3')).toContain('add --dry-run=client -o yaml');
    expect(refusal('kubectl create deployment hello --image=x --dry-run=server -o yaml')).toContain('--dry-run=client');
    expect(refusal('kubectl create deployment hello --image=x --dry-run=client -o json')).toContain('-o yaml');
    expect(refusal('kubectl create deployment hello -n kube-system --dry-run=client -o yaml')).toContain(
      'own lab namespace',
    );
    expect(refusal('kubectl create deployment Hello_1 --dry-run=client -o yaml')).toContain(
      'not a valid Kubernetes name',
    );
    expect(refusal('kubectl create deployment hello --replicas=50 --dry-run=client -o yaml')).toContain('from 1 to 10');
    expect(refusal('kubectl create secret generic x')).toContain('not available in labs');
  });

  it('prints the manifest exactly as kubectl 1.32 does', () => {
    // Output of: kubectl create deployment hello --image=127.0.0.1:5057/labbot/learner-abc:1234 --replicas=3 --port=8080 --dry-run=client -o yaml
    const kubectl = `apiVersion: apps/v1
kind: Deployment
metadata:
  creationTimestamp: null
  labels:
    app: hello
  name: hello
spec:
  replicas: 3
  selector:
    matchLabels:
      app: hello
  strategy: {}
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: hello
    spec:
      containers:
      - image: 127.0.0.1:5057/labbot/learner-abc:1234
        name: learner-abc
        ports:
        - containerPort: 8080
        resources: {}
status: {}
`;
    expect(
      generateDeploymentYaml({ name: 'hello', replicas: 3, port: 8080 }, '127.0.0.1:5057/labbot/learner-abc:1234'),
    ).toBe(kubectl);
    expect(containerNameFor('labbot/learner-0123456789ab@sha256:ff')).toBe('learner-0123456789ab');
  });

  it('takes /lab build with an optional folder', () => {
    expect(parseLabCommand('build')).toEqual({ ok: true, command: { kind: 'build' } });
    expect(parseLabCommand('build ./my-image')).toEqual({ ok: true, command: { kind: 'build', path: './my-image' } });
    expect(parseLabCommand('build a b').ok).toBe(false);
  });
});
