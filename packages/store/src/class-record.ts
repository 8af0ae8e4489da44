import { IsoTimestampSchema, LabIdSchema, LabOwnerSchema, LessonIdSchema, ThreadIdSchema } from '@labbot/core';
import { z } from 'zod';

/** A chat message labbot posted and keeps editing (e.g. a class board). */
export const MessageRefSchema = z.object({
  threadId: ThreadIdSchema,
  messageId: z.string().min(1).max(256),
});
export type MessageRef = z.infer<typeof MessageRefSchema>;

/** One learner who joined a class, and the lab they got. */
export const ClassMemberSchema = z.object({
  userId: z.string().min(1).max(128),
  labId: LabIdSchema,
  joinedAt: IsoTimestampSchema,
});
export type ClassMember = z.infer<typeof ClassMemberSchema>;

/** A class started by an instructor: one lesson, one board message, many learners' labs. */
export const ClassRecordSchema = z.object({
  classId: z.string().min(1).max(128),
  lessonId: LessonIdSchema,
  instructor: LabOwnerSchema,
  /** Where the class message (the live board) lives. */
  board: MessageRefSchema.optional(),
  /** Unused since members live in the class roster (kept so older records still parse). */
  members: z.array(ClassMemberSchema).default([]),
  state: z.enum(['open', 'ended']),
  /** A lesson variant all labs of the class use. */
  variant: z.string().min(1).max(63).optional(),
  /** How long each learner's lab lives. */
  ttlMinutes: z.number().int().min(1).optional(),
  /** Most learners who may join. */
  maxLearners: z.number().int().min(1).optional(),
  /** Labs of this class provisioned at once (the rest wait in join order). */
  maxConcurrentProvisions: z.number().int().min(1).optional(),
  /** Warm labs kept ready for the next learners to join (handed over on Join, refilled up to the class size). */
  warmLabs: z.number().int().min(1).optional(),
  /** Learners may extend their own lab by this many minutes per press of Extend (within the operator's ceiling). */
  selfExtendMinutes: z.number().int().min(1).optional(),
  /** The channel the class message lives in, as a thread id whose thread is the channel itself. */
  channelThreadId: ThreadIdSchema.optional(),
  createdAt: IsoTimestampSchema,
  updatedAt: IsoTimestampSchema,
  endedAt: IsoTimestampSchema.optional(),
  version: z.number().int().min(0),
});
export type ClassRecord = z.infer<typeof ClassRecordSchema>;
