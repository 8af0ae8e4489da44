import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabbotError } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { loadKubeConfig } from './kubeconfig.js';

const yaml = (server: string) => `apiVersion: v1
kind: Config
clusters:
- name: sim
  cluster:
    server: ${server}
users:
- name: sim
  user:
    token: abc
contexts:
- name: sim
  context: { cluster: sim, user: sim }
current-context: sim
`;

describe('loadKubeConfig', () => {
  it('turns on skipTLSVerify for a plain-http server (client-node 2 needs it)', () => {
    const config = loadKubeConfig({ mode: 'sim', kubeconfigYaml: yaml('http://127.0.0.1:6443') });
    expect(config.getCurrentCluster()).toMatchObject({ server: 'http://127.0.0.1:6443', skipTLSVerify: true });
    expect(config.getCurrentUser()?.token).toBe('abc');
  });

  it('leaves an https server verified', () => {
    const config = loadKubeConfig({ mode: 'file', kubeconfigYaml: yaml('https://10.0.0.1:6443') });
    expect(config.getCurrentCluster()?.skipTLSVerify).toBe(false);
  });

  it('reads a kubeconfig file, and builds one from a sim URL', () => {
    const directory = mkdtempSync(join(tmpdir(), 'labbot-kubeconfig-'));
    const path = join(directory, 'config');
    writeFileSync(path, yaml('http://127.0.0.1:7000'));
    expect(loadKubeConfig({ mode: 'file', path }).getCurrentCluster()?.server).toBe('http://127.0.0.1:7000');
    expect(loadKubeConfig({ mode: 'sim', server: 'http://127.0.0.1:7001' }).getCurrentCluster()).toMatchObject({
      server: 'http://127.0.0.1:7001',
      skipTLSVerify: true,
    });
  });

  it('fails clearly on a missing file or a config without a cluster', () => {
    expect(() => loadKubeConfig({ mode: 'file', path: '/nonexistent/kubeconfig' })).toThrow(LabbotError);
    expect(() => loadKubeConfig({ mode: 'file', kubeconfigYaml: 'apiVersion: v1\nkind: Config\n' })).toThrow(
      /no current cluster/,
    );
  });
});
