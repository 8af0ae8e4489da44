import { z } from 'zod';
import { ADMIN_PERMISSION_ROLE, INSTRUCTOR_PERMISSION_ROLE } from './class.js';
import { type LabOwner, PlatformSchema, sameOwner } from './identity.js';

/** What someone may try to do; the same names as the command kinds. */
export const LAB_ACTIONS = [
  'start',
  'status',
  'stop',
  'reset',
  'check',
  'list',
  'lessons',
  'help',
  'kubectl',
  'class-start',
  'class-status',
  'class-end',
  'class-export',
  'class-join',
  'class-say',
  'class-take',
  'class-extend',
  'help-me',
] as const;
export const LabActionSchema = z.enum(LAB_ACTIONS);
export type LabAction = z.infer<typeof LabActionSchema>;

/** Who is acting: a chat user with the roles the platform reports (Discord role ids/names, Slack groups...). */
export const ActorSchema = z.object({
  platform: PlatformSchema,
  workspaceId: z.string().min(1),
  userId: z.string().min(1),
  roles: z.array(z.string()),
});
export type Actor = z.infer<typeof ActorSchema>;

export interface AuthorizeRequest {
  actor: Actor;
  action: LabAction;
  /** The lab acted on, when the action is about one lab (a LabRecord fits). */
  lab?: { owner: LabOwner; classId?: string | undefined };
  /** Role names or ids that make an actor an instructor (from config). */
  instructorRoles: readonly string[];
}

export type AuthorizeResult = { allowed: true } | { allowed: false; reason: string };

const OPEN_ACTIONS: readonly LabAction[] = ['list', 'lessons', 'help', 'class-join', 'help-me'];
const CLASS_ACTIONS: readonly LabAction[] = [
  'class-start',
  'class-status',
  'class-end',
  'class-export',
  'class-say',
  'class-take',
  'class-extend',
];
/** What an instructor may do on a learner's lab of their class (not reset or kubectl: those are the learner's). */
const INSTRUCTOR_LAB_ACTIONS: readonly LabAction[] = ['status', 'check', 'stop'];

/** Instructor roles from config, or a role the adapter derived from platform permissions (e.g. Manage Server). */
export function isInstructor(actor: Actor, instructorRoles: readonly string[]): boolean {
  return actor.roles.some(
    (role) => role === INSTRUCTOR_PERMISSION_ROLE || role === ADMIN_PERMISSION_ROLE || instructorRoles.includes(role),
  );
}

/**
 * Decides whether an actor may do an action: a learner acts only on their own labs; class commands
 * need an instructor role; an instructor may see, check and stop the labs of a class in their workspace.
 */
export function authorize(request: AuthorizeRequest): AuthorizeResult {
  const { actor, action, lab, instructorRoles } = request;
  if (OPEN_ACTIONS.includes(action)) return { allowed: true };
  if (CLASS_ACTIONS.includes(action)) {
    return isInstructor(actor, instructorRoles)
      ? { allowed: true }
      : { allowed: false, reason: 'Only instructors can run class commands.' };
  }
  if (!lab) return { allowed: true }; // no lab yet: a start creates the actor's own, others find nothing
  if (sameOwner(actor, lab.owner)) return { allowed: true };
  const sameWorkspace = actor.platform === lab.owner.platform && actor.workspaceId === lab.owner.workspaceId;
  if (
    sameWorkspace &&
    lab.classId !== undefined &&
    INSTRUCTOR_LAB_ACTIONS.includes(action) &&
    isInstructor(actor, instructorRoles)
  ) {
    return { allowed: true };
  }
  return { allowed: false, reason: 'You can only use your own labs.' };
}
