import { z } from 'zod';

/** The mood of a message; each renderer maps it to its own colour or emoji. */
export const ToneSchema = z.enum(['info', 'progress', 'success', 'warning', 'error']);
export type Tone = z.infer<typeof ToneSchema>;

/** One piece of a neutral message. Renderers turn blocks into embeds, Block Kit or terminal text. */
export const MessageBlockSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({ kind: z.literal('fields'), fields: z.array(z.object({ name: z.string(), value: z.string() })) }),
  z.object({ kind: z.literal('table'), columns: z.array(z.string()), rows: z.array(z.array(z.string())) }),
  z.object({ kind: z.literal('code'), text: z.string(), title: z.string().optional() }),
  z.object({ kind: z.literal('context'), text: z.string() }),
]);
export type MessageBlock = z.infer<typeof MessageBlockSchema>;

/** What a button does when pressed; the payload names the lab or class it acts on. */
export const ButtonActionSchema = z.enum([
  'check',
  'status',
  'reset',
  'stop',
  'join',
  'help',
  'take',
  'done',
  'extend',
]);
export type ButtonAction = z.infer<typeof ButtonActionSchema>;

export const ChatButtonSchema = z.object({
  action: ButtonActionSchema,
  /** The lab id (check/status/reset/stop/extend, and a raised hand's help/take/done) or class id (join) the button acts on. */
  target: z.string().regex(/^[a-z0-9-]{1,64}$/),
  label: z.string().min(1).max(80),
  style: z.enum(['primary', 'secondary', 'danger']).default('secondary'),
});
export type ChatButton = z.infer<typeof ChatButtonSchema>;

/** The neutral message every adapter renders its own way. */
export const ChatMessageSchema = z.object({
  title: z.string().max(256).optional(),
  tone: ToneSchema.default('info'),
  blocks: z.array(MessageBlockSchema).max(20),
  buttons: z.array(ChatButtonSchema).max(5).optional(),
});
export type ChatMessage = z.input<typeof ChatMessageSchema>;

/** Encodes a button into a short custom id (`lab:<action>:<target>`), the same on every platform. */
export function encodeButtonId(button: Pick<ChatButton, 'action' | 'target'>): string {
  return `lab:${button.action}:${button.target}`;
}

const ButtonIdSchema = z
  .string()
  .max(100)
  .regex(/^lab:[a-z]+:[a-z0-9-]{1,64}$/)
  .transform((value) => {
    const [, action, target] = value.split(':');
    return { action, target };
  })
  .pipe(z.object({ action: ButtonActionSchema, target: z.string() }));

/** Decodes a button's custom id from any platform; undefined for anything that is not ours or is malformed. */
export function decodeButtonId(value: unknown): { action: ButtonAction; target: string } | undefined {
  const parsed = ButtonIdSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The plain-text form of a message: terminal output, notification text, and Slack's `text` fallback. */
export function messageToPlainText(message: ChatMessage): string {
  const parts: string[] = [];
  if (message.title) parts.push(message.title);
  for (const block of message.blocks) {
    switch (block.kind) {
      case 'text':
      case 'context':
        parts.push(block.text);
        break;
      case 'fields':
        parts.push(block.fields.map((field) => `${field.name}: ${field.value}`).join('\n'));
        break;
      case 'table':
        parts.push(formatTable(block.columns, block.rows));
        break;
      case 'code':
        parts.push(block.title ? `${block.title}\n${block.text}` : block.text);
        break;
    }
  }
  if (message.buttons?.length) parts.push(message.buttons.map((button) => `[${button.label}]`).join(' '));
  return parts.join('\n');
}

/** A fixed-width table, like kubectl's: columns padded to their widest cell. */
export function formatTable(columns: string[], rows: string[][]): string {
  const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(columns), ...rows.map(line)].join('\n');
}

/** Cuts text to a platform's limit, saying that it was cut. */
export function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const note = '… (cut)';
  return `${text.slice(0, Math.max(0, limit - note.length))}${note}`;
}
