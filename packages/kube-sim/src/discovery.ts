import { groupVersionOf, resourceTypes, servedGroups } from './resources.js';

export const serverVersion = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-kube-sim',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const serverAddress = [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }];

export function apiVersions() {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: serverAddress };
}

export function apiGroupList() {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: servedGroups().map(({ group, version }) => ({
      name: group,
      versions: [{ groupVersion: `${group}/${version}`, version }],
      preferredVersion: { groupVersion: `${group}/${version}`, version },
    })),
  };
}

export function apiGroup(group: string) {
  const found = servedGroups().find((g) => g.group === group);
  if (!found) return undefined;
  const groupVersion = { groupVersion: `${group}/${found.version}`, version: found.version };
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [groupVersion], preferredVersion: groupVersion };
}

/** `APIResourceList` for one group version, with the subresources kubectl looks for (scale, status, log). */
export function apiResourceList(group: string, version: string) {
  const resources = resourceTypes.filter((r) => r.group === group && r.version === version);
  if (resources.length === 0) return undefined;
  const list: Record<string, unknown>[] = [];
  for (const r of resources) {
    list.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories ? { categories: r.categories } : {}),
      storageVersionHash: Buffer.from(`${groupVersionOf(r)}/${r.kind}`)
        .toString('base64')
        .slice(0, 11),
    });
    for (const sub of r.subresources) {
      const isScale = sub === 'scale';
      const isToken = sub === 'token';
      list.push({
        name: `${r.plural}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(isScale ? { group: 'autoscaling', version: 'v1' } : {}),
        ...(isToken ? { group: 'authentication.k8s.io', version: 'v1' } : {}),
        kind: isScale
          ? 'Scale'
          : isToken
            ? 'TokenRequest'
            : sub === 'log'
              ? 'Pod'
              : sub === 'exec'
                ? 'PodExecOptions'
                : r.kind,
        verbs: sub === 'log' ? ['get'] : sub === 'exec' || isToken ? ['create', 'get'] : ['get', 'patch', 'update'],
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: list,
  };
}
