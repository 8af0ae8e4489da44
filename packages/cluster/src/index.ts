export * from './cluster-errors.js';
export { type DiagnoseOptions, type DiagnosisReason, diagnose } from './diagnose.js';
export * from './driver.js';
export {
  buildNamespaceObjects,
  buildRunnerRoleBinding,
  type ClusterCeilings,
  type LabLimits,
  LEARNER_ROLE,
  LEARNER_RULES,
  LEARNER_SERVICE_ACCOUNT,
  LIMIT_RANGE_NAME,
  learnerUsername,
  NETWORK_POLICY_NAMES,
  planQuota,
  QUOTA_NAME,
  type QuotaPlan,
} from './guard-rails.js';
export { type LoadKubeConfigOptions, loadKubeConfig } from './kubeconfig.js';
export { type KubectlResult, rolloutStatus } from './kubectl.js';
export {
  describeDeployment,
  describePod,
  formatDeploymentTable,
  formatEventTable,
  formatPodTable,
  formatReplicaSetTable,
  formatTable,
  humanAge,
} from './kubectl-format.js';
export * from './labels.js';
export {
  formatManifestProblems,
  type LearnerManifestOptions,
  type LearnerManifestResult,
  prepareLearnerManifest,
} from './manifest/learner-manifest.js';
export {
  formatPath,
  MAX_MANIFEST_BYTES,
  MAX_MANIFEST_DOCUMENTS,
  type ManifestProblem,
  type ParsedDocument,
  type ParseManifestResult,
  parseManifest,
} from './manifest/parse.js';
export { type ManifestPolicy, policyProblems, resolveLabImage } from './manifest/policy.js';
export { ALLOWED_KINDS, validateManifestObject } from './manifest/schema.js';
export { droppedFields, toModelForm, toPlainObject } from './model-form.js';
export { type KubeRequestObserver, observeKubeRequests } from './observed-kubeconfig.js';
export * from './permissions.js';
export { labIdOfPod, podStatusText, podSummary } from './pod-summary.js';
export type { LabPodWatch, WatchLabPodsOptions } from './pod-watcher.js';
export { cpuToMillicores, formatCpu, formatMemory, memoryToBytes } from './quantity.js';
export { type HardenDeploymentOptions, hardenDeployment, LAB_RUN_AS_USER } from './workload.js';
