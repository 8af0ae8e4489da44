import type { LabOwner } from './identity.js';
import type { LabRecord } from './lab.js';

/**
 * A warm lab's owner: nobody, spelled so that no chat user id can be it (`~` appears in no Discord, Slack or
 * local-chat user id), in the instructor's workspace, numbered within its class.
 */
export function warmOwnerFor(instructor: LabOwner, classId: string, number: number): LabOwner {
  return { platform: instructor.platform, workspaceId: instructor.workspaceId, userId: `~warm-${classId}-${number}` };
}

/** Whether a lab is a warm one (prepared for a class, not yet handed to a learner). */
export function isWarmOwner(owner: LabOwner): boolean {
  return owner.userId.startsWith('~warm-');
}

/**
 * The learner's lab made from a ready warm lab on Join: the learner's identity, thread, class and expiry, and the
 * warm lab's namespace with what was observed of it (image, one-off output, pods: already 3/3 ready), so the
 * learner sees the current status at once. Nothing of the warm lab's identity comes along (owner, id, thread);
 * `handedOver` tells the runner to relabel the namespace to this lab (its pods and Deployment stay as they are).
 */
export function handedOverRecord(learner: LabRecord, warm: LabRecord): LabRecord {
  const seen = warm.observed;
  return {
    ...learner,
    namespace: warm.namespace,
    observed: {
      phase: seen.phase,
      step: 'pods',
      pods: seen.pods,
      generation: learner.desired.generation,
      handedOver: true,
      ...(seen.imageTag !== undefined ? { imageTag: seen.imageTag } : {}),
      ...(seen.imageCached !== undefined ? { imageCached: seen.imageCached } : {}),
      ...(seen.buildLog !== undefined ? { buildLog: seen.buildLog } : {}),
      ...(seen.containerOutput !== undefined ? { containerOutput: seen.containerOutput } : {}),
      ...(seen.desiredReplicas !== undefined ? { desiredReplicas: seen.desiredReplicas } : {}),
      ...(seen.images !== undefined ? { images: seen.images } : {}),
    },
  };
}
