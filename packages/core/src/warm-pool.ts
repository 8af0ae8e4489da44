import type { LabOwner } from './identity.js';

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
