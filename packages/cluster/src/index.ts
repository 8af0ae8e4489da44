export { type ClusterRoom, labRequests } from './capacity.js';
export * from './cluster-errors.js';
export * from './driver.js';
export { learnerUsername } from './guard-rails.js';
export { loadKubeConfig } from './kubeconfig.js';

export * from './labels.js';
export { formatManifestProblems } from './manifest/learner-manifest.js';

export { type KubeRequestObserver, observeKubeRequests } from './observed-kubeconfig.js';
export * from './permissions.js';

export type { LabPodWatch } from './pod-watcher.js';
export { type ClusterRoomWatch, watchClusterRoom } from './room-watch.js';
