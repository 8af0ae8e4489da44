import {
  type ChatButton,
  type ChatMessage,
  ChatMessageSchema,
  encodeButtonId,
  formatTable,
  type MessageBlock,
  type Tone,
  truncate,
} from '@labbot/chat';
import type { APIActionRowComponent, APIButtonComponentWithCustomId, APIEmbed, APIEmbedField } from 'discord.js';

/** Discord's limits on one embed and one message (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). */
export const DISCORD_LIMITS = {
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  embedTotal: 6000,
  buttonsPerRow: 5,
  rows: 5,
  buttonLabel: 80,
} as const;

/** The message flag that shows a reply to its user only. */
export const EPHEMERAL_FLAG = 1 << 6;

/** Embed colours per tone (Discord's own palette: blurple, yellow, green, orange, red). */
export const TONE_COLOURS: Record<Tone, number> = {
  info: 0x5865f2,
  progress: 0xfee75c,
  success: 0x57f287,
  warning: 0xe67e22,
  error: 0xed4245,
};

const BUTTON_STYLES: Record<ChatButton['style'], 1 | 2 | 4> = { primary: 1, secondary: 2, danger: 4 };

/** The JSON body labbot sends to create or edit a message (channel message, interaction reply or follow-up). */
export interface DiscordMessageBody {
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIButtonComponentWithCustomId>[];
  allowed_mentions: { parse: [] };
  flags?: number;
}

export interface RenderOptions {
  /** Shown to the user of the interaction only (adds the ephemeral flag). */
  ephemeral?: boolean;
}

interface Section {
  /** Plain text, or a fenced code block whose body may be cut from the top (logs: the last lines matter). */
  kind: 'plain' | 'code';
  heading?: string;
  body: string;
}

/** A code fence inside a code block would end it early; a zero-width space keeps it inert. */
const inertFences = (text: string) => text.replace(/```/g, '`\u200b``');

function renderSection(section: Section): string {
  if (section.kind === 'plain') return section.body;
  const heading = section.heading ? `**${section.heading}**\n` : '';
  return `${heading}\`\`\`\n${inertFences(section.body)}\n\`\`\``;
}

/** Keeps the end of a text (the last log lines), saying that the beginning was cut. */
function keepTail(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const note = '(cut) …';
  const tail = text.slice(text.length - Math.max(0, limit - note.length - 1));
  const firstBreak = tail.indexOf('\n');
  // Start at a whole line when one is near.
  const clean = firstBreak >= 0 && firstBreak < 80 ? tail.slice(firstBreak + 1) : tail;
  return `${note}\n${clean}`;
}

/** Fits the sections into `budget` characters by shortening the longest code block first, then cutting the rest. */
function fitSections(sections: Section[], budget: number): string {
  const joined = () => sections.map(renderSection).join('\n\n');
  for (let round = 0; round < 20 && joined().length > budget; round++) {
    const longest = sections
      .filter((section) => section.kind === 'code' && section.body.length > 40)
      .sort((a, b) => b.body.length - a.body.length)[0];
    if (!longest) break;
    const excess = joined().length - budget;
    longest.body = keepTail(longest.body, Math.max(40, longest.body.length - excess - 16));
  }
  return truncate(joined(), budget);
}

function fieldsOf(blocks: MessageBlock[]): APIEmbedField[] {
  const fields: APIEmbedField[] = [];
  for (const block of blocks) {
    if (block.kind !== 'fields') continue;
    for (const field of block.fields) {
      fields.push({
        name: truncate(field.name || '\u200b', DISCORD_LIMITS.fieldName),
        value: truncate(field.value || '\u200b', DISCORD_LIMITS.fieldValue),
        inline: false,
      });
    }
  }
  if (fields.length <= DISCORD_LIMITS.fields) return fields;
  const kept = fields.slice(0, DISCORD_LIMITS.fields - 1);
  kept.push({ name: '…', value: `${fields.length - kept.length} more not shown`, inline: false });
  return kept;
}

/** Keeps the fields that fit in what is left of the embed's 6000 characters, saying how many were left out. */
function fitFields(fields: APIEmbedField[], budget: number): APIEmbedField[] {
  const kept: APIEmbedField[] = [];
  let used = 0;
  const noteRoom = 40;
  for (const [index, field] of fields.entries()) {
    const size = field.name.length + field.value.length;
    const last = index === fields.length - 1;
    if (used + size > budget - (last ? 0 : noteRoom)) {
      const left = fields.length - kept.length;
      if (budget - used >= noteRoom) kept.push({ name: '…', value: `${left} more not shown`, inline: false });
      return kept;
    }
    kept.push(field);
    used += size;
  }
  return kept;
}

/** Buttons in rows of five (Discord's limit per action row), at most five rows. */
export function renderButtons(buttons: readonly ChatButton[]): APIActionRowComponent<APIButtonComponentWithCustomId>[] {
  const rows: APIActionRowComponent<APIButtonComponentWithCustomId>[] = [];
  buttons.slice(0, DISCORD_LIMITS.buttonsPerRow * DISCORD_LIMITS.rows).forEach((button, index) => {
    if (index % DISCORD_LIMITS.buttonsPerRow === 0) rows.push({ type: 1, components: [] });
    rows.at(-1)?.components.push({
      type: 2,
      style: BUTTON_STYLES[button.style],
      label: truncate(button.label, DISCORD_LIMITS.buttonLabel),
      custom_id: encodeButtonId(button),
    });
  });
  return rows;
}

/**
 * Renders a neutral message as Discord sends it: one embed (tone → colour, text → description,
 * table and code → code blocks, fields → embed fields, context → footer) and buttons as components,
 * always within Discord's limits. `components` is always present so an edit removes buttons that went away.
 */
export function renderDiscordMessage(input: ChatMessage, options: RenderOptions = {}): DiscordMessageBody {
  const message = ChatMessageSchema.parse(input);
  const title = message.title ? truncate(message.title, DISCORD_LIMITS.title) : undefined;
  const footerText = message.blocks.flatMap((block) => (block.kind === 'context' ? [block.text] : [])).join(' · ');
  const footer = footerText ? truncate(footerText, DISCORD_LIMITS.footer) : undefined;
  const allFields = fieldsOf(message.blocks);
  const sections: Section[] = [];
  for (const block of message.blocks) {
    if (block.kind === 'text') sections.push({ kind: 'plain', body: block.text });
    if (block.kind === 'code')
      sections.push({ kind: 'code', ...(block.title ? { heading: block.title } : {}), body: block.text });
    if (block.kind === 'table') sections.push({ kind: 'code', body: formatTable(block.columns, block.rows) });
  }
  const budget = Math.min(
    DISCORD_LIMITS.description,
    DISCORD_LIMITS.embedTotal - (title?.length ?? 0) - (footer?.length ?? 0),
  );
  const description = sections.length > 0 ? fitSections(sections, budget) : undefined;
  const fields = fitFields(
    allFields,
    DISCORD_LIMITS.embedTotal - (title?.length ?? 0) - (footer?.length ?? 0) - (description?.length ?? 0),
  );

  const embed: APIEmbed = { color: TONE_COLOURS[message.tone] };
  if (title) embed.title = title;
  // Discord refuses an embed with nothing in it.
  if (description || (!title && fields.length === 0 && !footer)) embed.description = description || '\u200b';
  if (fields.length > 0) embed.fields = fields;
  if (footer) embed.footer = { text: footer };

  return {
    embeds: [embed],
    components: renderButtons(message.buttons ?? []),
    allowed_mentions: { parse: [] },
    ...(options.ephemeral ? { flags: EPHEMERAL_FLAG } : {}),
  };
}

/** An error for the user who typed the command: one short sentence, red, ephemeral. */
export function renderDiscordError(text: string): DiscordMessageBody {
  return renderDiscordMessage({ tone: 'error', blocks: [{ kind: 'text', text: `✖ ${text}` }] }, { ephemeral: true });
}

/** The plain text a person sees in a rendered message (for tests and logs). */
export function discordMessageText(body: { content?: unknown; embeds?: unknown }): string {
  const parts: string[] = [];
  if (typeof body.content === 'string' && body.content) parts.push(body.content);
  for (const embed of Array.isArray(body.embeds) ? (body.embeds as APIEmbed[]) : []) {
    if (embed.title) parts.push(embed.title);
    if (embed.description) parts.push(embed.description);
    for (const field of embed.fields ?? []) parts.push(`${field.name}: ${field.value}`);
    if (embed.footer?.text) parts.push(embed.footer.text);
  }
  return parts.join('\n');
}

/** The custom id prefix of a form asking for a document; the command the answer goes with follows it. */
export const DOCUMENT_MODAL_PREFIX = 'labbot:document:';
/** The custom id of the form's paragraph field. */
export const DOCUMENT_FIELD_ID = 'document';
/** A paragraph text input takes at most 4000 characters in Discord. */
export const DOCUMENT_FIELD_MAX_LENGTH = 4000;

/** The modal (interaction callback type 9) asking for a document, e.g. the manifest of `/lab apply`. */
export function renderDocumentModal(request: {
  title: string;
  label: string;
  placeholder?: string;
  commandText: string;
}) {
  return {
    custom_id: `${DOCUMENT_MODAL_PREFIX}${request.commandText}`.slice(0, 100),
    title: request.title.slice(0, 45),
    components: [
      {
        type: 1,
        components: [
          {
            type: 4,
            custom_id: DOCUMENT_FIELD_ID,
            // 2 = paragraph: a multi-line field.
            style: 2,
            label: request.label.slice(0, 45),
            ...(request.placeholder ? { placeholder: request.placeholder.slice(0, 100) } : {}),
            min_length: 1,
            max_length: DOCUMENT_FIELD_MAX_LENGTH,
            required: true,
          },
        ],
      },
    ],
  };
}
