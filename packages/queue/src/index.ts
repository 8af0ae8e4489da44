export { type OpenedConnection, openRedis, type QueueConnection, type RedisClient } from './connection.js';
export {
  createKubectlClient,
  createKubectlWorker,
  KUBECTL_QUEUE,
  type KubectlClient,
  type KubectlClientOptions,
  type KubectlJob,
  type KubectlJobResult,
  KubectlJobSchema,
  type KubectlWorkerOptions,
} from './kubectl.js';
export {
  createLabEventWorker,
  type LabEventWorkerOptions,
  labEventsQueueName,
  publishLabEvent,
} from './lab-events.js';
export {
  createLearnerBuildClient,
  createLearnerBuildWorker,
  LEARNER_BUILD_QUEUE,
  type LearnerBuildClient,
  type LearnerBuildClientOptions,
  type LearnerBuildFile,
  type LearnerBuildJob,
  type LearnerBuildJobResult,
  LearnerBuildJobSchema,
  type LearnerBuildWorkerOptions,
} from './learner-build.js';
export {
  createOutboxWorker,
  type DeliveryResult,
  idempotencyKeyOf,
  type MessageRefStore,
  type OutboxDelivery,
  type OutboxObserver,
  type OutboxWorkerOptions,
  type RateLimitHint,
  rateLimitOf,
} from './outbox.js';
export {
  type OutboxItem,
  OutboxItemSchema,
  type OutboxPlatform,
  OutboxPlatformSchema,
  outboxQueueName,
  RECONCILE_QUEUE,
  type ReconcileJob,
  ReconcileJobSchema,
} from './payloads.js';
export { createQueues, type EnqueuedJob, type LabQueues, type Queues, type QueuesOptions } from './producers.js';
export { type QueueSnapshot, snapshotQueue } from './queue-snapshot.js';
export { type Closable, type CloseOnSignalsOptions, closeOnSignals } from './shutdown.js';
export {
  type CreateWorkerOptions,
  createLabbotWorker,
  createReconcileWorker,
  type JobContext,
  type LabbotWorker,
  type ReconcileWorkerOptions,
  toJobError,
  type WorkerBaseOptions,
  type WorkerTuning,
} from './workers.js';
