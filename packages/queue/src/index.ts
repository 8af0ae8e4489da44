export { openRedis, type QueueConnection, type RedisClient } from './connection.js';
export {
  createKubectlClient,
  createKubectlWorker,
  KUBECTL_QUEUE,
  type KubectlClient,
  type KubectlJob,
  type KubectlJobResult,
} from './kubectl.js';
export {
  createLabEventWorker,
  labEventsQueueName,
  publishLabEvent,
} from './lab-events.js';
export {
  createLearnerBuildClient,
  createLearnerBuildWorker,
  type LearnerBuildClient,
  type LearnerBuildJob,
  type LearnerBuildJobResult,
} from './learner-build.js';
export {
  createOutboxWorker,
  type DeliveryResult,
  type OutboxDelivery,
  type OutboxObserver,
} from './outbox.js';
export {
  outboxQueueName,
  RECONCILE_QUEUE,
} from './payloads.js';
export { createQueues, type LabQueues, type Queues } from './producers.js';
export { type QueueSnapshot, snapshotQueue } from './queue-snapshot.js';
export { closeOnSignals } from './shutdown.js';
export {
  createReconcileWorker,
  type JobContext,
  type LabbotWorker,
  type WorkerTuning,
} from './workers.js';
