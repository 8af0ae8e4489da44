import type { ChatFile } from '@labbot/chat';
import { z } from 'zod';
import {
  DOCUMENT_INPUT_MAX_LENGTH,
  extraFileBlockIds,
  FILE_NAME_MAX_LENGTH,
  FILES_MAIN_BLOCK_ID,
  MAX_EXTRA_FILES,
} from './cards.js';

/** What a Slack form carries from the command that opened it to its submission (its private_metadata). */
export const FormContextSchema = z.strictObject({
  /** The command the form's answer goes with. */
  command: z.string().min(1).max(500),
  team: z.string().min(1).max(64),
  channel: z.string().min(1).max(64),
  /** The slash command's response_url (30 minutes, 5 answers): the submission is answered there. */
  responseUrl: z
    .string()
    .max(2000)
    .refine((value) => URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol), {
      message: 'not an http(s) URL',
    }),
  /** The main file's path and how many extra files the form offered (files forms only). */
  mainPath: z
    .string()
    .max(FILE_NAME_MAX_LENGTH)
    .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/, { message: 'not a plain file name' })
    .optional(),
  extraFiles: z.number().int().min(0).max(MAX_EXTRA_FILES).optional(),
});
export type FormContext = z.infer<typeof FormContextSchema>;

/** The user's input in a submitted view: block_id → action_id → { value }. */
const ViewValuesSchema = z.record(
  z.string().max(255),
  z.record(z.string().max(255), z.looseObject({ value: z.string().nullable().optional() })),
);

/** The parts of a view_submission labbot reads. */
export const ViewSubmissionSchema = z.looseObject({
  user: z.looseObject({ id: z.string().min(1).max(64), team_id: z.string().max(64).optional() }),
  team: z
    .looseObject({ id: z.string().min(1).max(64) })
    .nullable()
    .optional(),
  view: z.looseObject({
    private_metadata: z.string().max(3000).optional(),
    state: z.looseObject({ values: ViewValuesSchema.optional() }).optional(),
  }),
});
export type ViewSubmission = z.infer<typeof ViewSubmissionSchema>;

/** A file name a learner may give: a relative path of plain characters, no "..", no leading slash. */
const FileNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(FILE_NAME_MAX_LENGTH, { message: `A file name has at most ${FILE_NAME_MAX_LENGTH} characters.` })
  .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, {
    message: 'Use a relative path of letters, digits, dots, dashes and slashes, e.g. hello.sh or app/index.html.',
  })
  .refine((name) => !name.split('/').some((part) => part === '.' || part === '..'), {
    message: 'A file name cannot contain "." or ".." as a folder: it must stay inside the build folder.',
  });

const FileContentSchema = z
  .string()
  .max(DOCUMENT_INPUT_MAX_LENGTH, { message: `A field holds at most ${DOCUMENT_INPUT_MAX_LENGTH} characters.` });

/** A files form read back: the files, or what to show next to which field (the form stays open). */
export type FilesFormResult = { ok: true; files: ChatFile[] } | { ok: false; errors: Record<string, string> };

/** Reads the files of a submitted files form; every problem is named at its field, in one short sentence. */
export function readFilesForm(values: z.infer<typeof ViewValuesSchema>, context: FormContext): FilesFormResult {
  const field = (blockId: string) => values[blockId]?.[blockId]?.value ?? '';
  const errors: Record<string, string> = {};
  const encoder = new TextEncoder();
  const mainPath = context.mainPath ?? 'Dockerfile';
  const main = FileContentSchema.safeParse(field(FILES_MAIN_BLOCK_ID));
  if (!main.success) errors[FILES_MAIN_BLOCK_ID] = main.error.issues[0]?.message ?? 'Not valid.';
  else if (main.data.trim() === '') errors[FILES_MAIN_BLOCK_ID] = `Write your ${mainPath} here.`;
  const files: ChatFile[] = main.success ? [{ path: mainPath, content: encoder.encode(main.data) }] : [];
  const seen = new Set([mainPath.toLowerCase()]);
  for (let n = 1; n <= (context.extraFiles ?? 0); n += 1) {
    const ids = extraFileBlockIds(n);
    const rawName = field(ids.name);
    const rawContent = field(ids.content);
    if (rawName.trim() === '' && rawContent === '') continue;
    if (rawName.trim() === '') {
      errors[ids.name] = 'Give this file a name (the path your COPY uses), or empty its content.';
      continue;
    }
    const name = FileNameSchema.safeParse(rawName);
    if (!name.success) {
      errors[ids.name] = name.error.issues[0]?.message ?? 'Not a valid file name.';
      continue;
    }
    if (seen.has(name.data.toLowerCase())) {
      errors[ids.name] = `"${name.data}" is already one of the files.`;
      continue;
    }
    seen.add(name.data.toLowerCase());
    const content = FileContentSchema.safeParse(rawContent);
    if (!content.success) {
      errors[ids.content] = content.error.issues[0]?.message ?? 'Not valid.';
      continue;
    }
    files.push({ path: name.data, content: encoder.encode(content.data) });
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, files };
}
