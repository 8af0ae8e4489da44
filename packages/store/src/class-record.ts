import { z } from 'zod';
import { LabOwnerSchema } from './lab-types.js';

/** A chat message labbot posted and keeps editing (e.g. a class board). */
export const MessageRefSchema = z.object({
  threadId: z.string().min(1).max(512),
  messageId: z.string().min(1).max(256),
});
export type MessageRef = z.infer<typeof MessageRefSchema>;

/** One learner who joined a class, and the lab they got. */
export const ClassMemberSchema = z.object({
  userId: z.string().min(1).max(128),
  labId: z.string().regex(/^[0-9a-f]{12}$/),
  joinedAt: z.iso.datetime({ offset: true }),
});
export type ClassMember = z.infer<typeof ClassMemberSchema>;

/** A class started by an instructor: one lesson, one board message, many learners' labs. */
export const ClassRecordSchema = z.object({
  classId: z.string().min(1).max(128),
  lessonId: z.string().min(1).max(63),
  instructor: LabOwnerSchema,
  /** Where the class message (the live board) lives. */
  board: MessageRefSchema.optional(),
  members: z.array(ClassMemberSchema),
  state: z.enum(['open', 'ended']),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  endedAt: z.iso.datetime({ offset: true }).optional(),
  version: z.number().int().min(0),
});
export type ClassRecord = z.infer<typeof ClassRecordSchema>;
