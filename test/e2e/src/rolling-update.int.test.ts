import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labIdFor } from '@labbot/core';
import { builtInLessonsDir } from '@labbot/lessons';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabHarness, type LocalChat, labWait, startLabHarness } from './harness.js';

// The rolling-update lesson in the local chat: v1 deployed, scaled, v2 applied by the learner as a file,
// rolled out, and undone; hostile manifests refused with their field path and nothing applied.
let harness: LabHarness;
let chat: LocalChat;
const labId = labIdFor({ platform: 'local', workspaceId: 'local', userId: 'ada', lessonId: 'rolling-update' });
const lastAnswer = () => chat.adapter.channelTexts().at(-1) ?? '';
const files = mkdtempSync(join(tmpdir(), 'labbot-apply-'));

/** The manifest of the lesson's step 3, as a learner copies it from the step text. */
function lessonManifest(): string {
  const lesson = readFileSync(join(builtInLessonsDir(), 'rolling-update', 'lesson.yaml'), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(lesson)?.[1] ?? '';
  return block.replace(/^ {6}/gm, '');
}

async function imagesOfPods(): Promise<string[]> {
  const lab = await harness.store.get(labId);
  return [...new Set(lab?.observed.pods.map((pod) => pod.image ?? '') ?? [])];
}

beforeAll(async () => {
  harness = await startLabHarness({ redisDb: 9, kubelet: 'virtual' });
  await harness.startRunner();
  chat = await harness.startChat();
  await chat.type('start rolling-update', 'ada');
  await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready', 120_000);
});

afterAll(async () => {
  await harness?.stop();
  rmSync(files, { recursive: true, force: true });
});

describe('the rolling-update lesson in the local chat', () => {
  it('builds v1 and v2 for the lab and runs v1', async () => {
    const lab = await harness.store.get(labId);
    expect(Object.keys(lab?.observed.images ?? {}).sort()).toEqual(['rolling-update:v1', 'rolling-update:v2']);
    expect(await imagesOfPods()).toEqual([lab?.observed.images?.['rolling-update:v1']]);
  });

  it('refuses hostile manifests with the field path, and nothing reaches the cluster', async () => {
    const manifest = lessonManifest();
    const hostile: [string, string, RegExp][] = [
      [
        'privileged',
        manifest.replace(
          '          ports:',
          '          securityContext:\n            privileged: true\n          ports:',
        ),
        /spec\.template\.spec\.containers\[0\]\.securityContext\.privileged: privileged containers are not allowed/,
      ],
      [
        'host network',
        manifest.replace('    spec:\n      containers:', '    spec:\n      hostNetwork: true\n      containers:'),
        /spec\.template\.spec\.hostNetwork: would share the node's network namespace/,
      ],
      [
        'other namespace',
        manifest.replace('  name: web\n', '  name: web\n  namespace: kube-system\n'),
        /metadata\.namespace: "kube-system" is another namespace/,
      ],
      [
        'foreign image',
        manifest.replace('rolling-update:v2', 'nginx:latest'),
        /spec\.template\.spec\.containers\[0\]\.image: "nginx:latest" was not built for this lab/,
      ],
      [
        'too many replicas',
        manifest.replace('replicas: 4', 'replicas: 40'),
        /spec\.replicas: 40 is above this lab's ceiling of 6 replicas/,
      ],
      [
        'node port',
        'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: NodePort\n  selector: { app: web }\n  ports: [{ port: 80 }]\n',
        /document 1, line 6, spec\.type: NodePort services would open the lab/,
      ],
    ];
    for (const [name, text, why] of hostile) {
      const path = join(files, `${name.replace(/ /g, '-')}.yaml`);
      writeFileSync(path, text);
      await chat.type(`apply ${path}`, 'ada');
      expect(lastAnswer(), name).toMatch(/Nothing was applied: the manifest was refused/);
      expect(lastAnswer(), name).toMatch(why);
    }
    await chat.type('kubectl get all', 'ada');
    expect(lastAnswer()).not.toMatch(/service\/web/);
    expect(await imagesOfPods()).toHaveLength(1);
    const lab = await harness.store.get(labId);
    expect(lab?.observed.desiredReplicas).toBe(3);
  });

  it('refuses a 20 MB file before reading it whole', async () => {
    const path = join(files, 'huge.yaml');
    writeFileSync(path, `data: "${'x'.repeat(20 * 1024 * 1024)}"\n`);
    await chat.type(`apply ${path}`, 'ada');
    expect(lastAnswer()).toMatch(
      /^✖ That manifest is too large \(20\.0 MB\); the limit is 64 KiB\. Nothing was applied\./,
    );
  });

  it('scales v1, applies v2 from a file and rolls it out; the status and checks follow', async () => {
    await chat.type('kubectl scale deployment/web --replicas=4', 'ada');
    await harness.waitForLab(labId, (lab) => lab.observed.pods.filter((pod) => pod.ready).length === 4);
    const path = join(files, 'web.yaml');
    writeFileSync(path, lessonManifest());
    await chat.type(`apply ${path}`, 'ada');
    expect(lastAnswer()).toContain(`$ kubectl apply --server-side -f ${path}`);
    expect(lastAnswer()).toContain('deployment.apps/web serverside-applied');
    const lab = await harness.store.get(labId);
    const v2 = lab?.observed.images?.['rolling-update:v2'];
    await waitForValue('only v2 pods', imagesOfPods, (images) => images.length === 1 && images[0] === v2, {
      ...labWait,
      timeoutMs: 60_000,
    });
    await chat.type('kubectl rollout status deployment/web', 'ada');
    expect(lastAnswer()).toContain('deployment "web" successfully rolled out');
    await chat.type('kubectl get rs', 'ada');
    expect(lastAnswer()).toMatch(/^web-\S+\s+4\s+4\s+4\s/m);
    expect(lastAnswer()).toMatch(/^web-\S+\s+0\s+0\s+0\s/m);
    await chat.type('kubectl rollout history deployment/web', 'ada');
    expect(lastAnswer()).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    const ready = await harness.waitForLab(labId, (current) => current.observed.phase === 'ready');
    await waitForValue(
      '4/4 in the thread',
      () => chat.thread(ready),
      (texts) => (texts[0] ?? '').includes('Pods ready: 4/4'),
      { ...labWait, timeoutMs: 10_000 },
    );
    await chat.type('check', 'ada');
    expect(lastAnswer()).toMatch(/Checks of Scaling and rolling updates: 2\/3 passed/);
    expect(lastAnswer()).toContain('✅ Web rolled out on image v2 with every replica ready');
  });

  it('undoes the rollout back to v1, and the undo check passes', async () => {
    await chat.type('kubectl rollout undo deployment/web', 'ada');
    expect(lastAnswer()).toContain('deployment.apps/web rolled back');
    const v1 = (await harness.store.get(labId))?.observed.images?.['rolling-update:v1'];
    await waitForValue('only v1 pods', imagesOfPods, (images) => images.length === 1 && images[0] === v1, {
      ...labWait,
      timeoutMs: 60_000,
    });
    await harness.waitForLab(labId, (lab) => lab.observed.pods.filter((pod) => pod.ready).length === 4);
    await chat.type('kubectl rollout history deployment/web', 'ada');
    expect(lastAnswer()).toMatch(/\n2\s+<none>\n3\s+<none>$/);
    await chat.type('check', 'ada');
    expect(lastAnswer()).toMatch(/Checks of Scaling and rolling updates: 3\/3 passed/);
  });

  it('takes a pasted block too, and /lab reset returns to the lesson state', async () => {
    await chat.type('apply', 'ada');
    expect(lastAnswer()).toMatch(/Paste the manifest/);
    // A ConfigMap and a ClusterIP Service with the Deployment: the runner's lab-manager role may write all three.
    const extras = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: web-settings',
      'data:',
      '  greeting: hello',
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      '  name: web',
      'spec:',
      '  selector:',
      '    app: web',
      '  ports:',
      '    - port: 80',
      '      targetPort: 8080',
      '---',
    ];
    const manifest = lessonManifest().replace('rolling-update:v2', 'rolling-update:v1').split('\n');
    for (const line of [...extras, ...manifest]) {
      await chat.adapter.handleLine(line, 'ada');
    }
    await chat.adapter.handleLine('.', 'ada');
    expect(lastAnswer()).toContain('configmap/web-settings serverside-applied');
    expect(lastAnswer()).toContain('service/web serverside-applied');
    expect(lastAnswer()).toContain('deployment.apps/web serverside-applied');
    await chat.type('reset', 'ada');
    const lab = await harness.waitForLab(
      labId,
      (current) => current.observed.generation === 1 && current.observed.phase === 'ready',
      120_000,
    );
    expect(await imagesOfPods()).toEqual([lab.observed.images?.['rolling-update:v1']]);
    expect(lab.observed.desiredReplicas).toBe(3);
  });
});
