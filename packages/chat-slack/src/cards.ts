import {
  type ChatMessage,
  encodeButtonId,
  formatTable,
  type MessageBlock,
  messageToPlainText,
  type Tone,
  truncate,
} from '@labbot/chat';

/** Block Kit limits (api.slack.com/reference/block-kit) this renderer keeps to. */
export const SLACK_LIMITS = {
  /** Blocks in one message. */
  blocks: 50,
  /** Text of a section block. */
  sectionText: 3000,
  /** One field of a section block, and at most 10 fields per section. */
  fieldText: 2000,
  fieldsPerSection: 10,
  /** A header block's plain text. */
  headerText: 150,
  /** A context element's text. */
  contextText: 2000,
  /** A button's label. */
  buttonText: 75,
  /** The `text` fallback (notifications, screen readers); Slack truncates long ones. */
  fallbackText: 3000,
} as const;

/** The tone of a message as an emoji in the header (Slack messages have no colour bar without attachments). */
export const TONE_EMOJI: Record<Tone, string> = {
  info: 'ℹ️',
  progress: '⏳',
  success: '✅',
  warning: '⚠️',
  error: '❌',
};

/** A Block Kit block as sent on the wire (a plain JSON object: golden files compare it exactly). */
export type SlackBlock = Record<string, unknown>;

/** What chat.postMessage / chat.update / response_url posts get: the fallback text and the blocks. */
export interface SlackMessagePayload {
  text: string;
  blocks: SlackBlock[];
}

/**
 * Neutral markdown to Slack mrkdwn: `**bold**` becomes `*bold*`; `&`, `<` and `>` are escaped except in Slack's
 * own references (`<@U123>`, `<#C123>`, `<!here>`, `<https://…|label>`).
 */
export function toMrkdwn(text: string): string {
  const reference = /<(?:[@#!][A-Za-z0-9^|_.-]+|https?:\/\/[^<>\s]+)>/g;
  let out = '';
  let last = 0;
  for (const match of text.matchAll(reference)) {
    out += escapeMrkdwn(text.slice(last, match.index)) + match[0];
    last = match.index + match[0].length;
  }
  out += escapeMrkdwn(text.slice(last));
  return out.replace(/\*\*([^*\n]+)\*\*/g, '*$1*');
}

function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A code block in mrkdwn, cut so that the whole section stays within `limit` (the tail of a log matters most). */
function codeSection(code: string, title: string | undefined, limit: number): string {
  const heading = title ? `*${toMrkdwn(title)}*\n` : '';
  const fence = '```';
  // Inside a code block Slack still needs &, < and > escaped; three backticks would end the block early.
  const body = escapeMrkdwn(code).replace(/```/g, "'''");
  const room = limit - heading.length - fence.length * 2 - 2;
  return `${heading}${fence}\n${keepTail(body, room)}\n${fence}`;
}

/** Keeps the last `limit` characters of text, starting at a line break where possible, saying that it was cut. */
function keepTail(text: string, limit: number): string {
  if (text.length <= limit) return text || ' ';
  const note = '(cut) …\n';
  const tail = text.slice(text.length - Math.max(0, limit - note.length));
  const lineStart = tail.indexOf('\n');
  return `${note}${lineStart >= 0 && lineStart < tail.length / 2 ? tail.slice(lineStart + 1) : tail}`;
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SLACK_LIMITS.sectionText) } };
}

function blocksOf(block: MessageBlock): SlackBlock[] {
  switch (block.kind) {
    case 'text':
      return block.text.trim() ? [section(toMrkdwn(block.text))] : [];
    case 'context':
      return block.text.trim()
        ? [
            {
              type: 'context',
              elements: [{ type: 'mrkdwn', text: truncate(toMrkdwn(block.text), SLACK_LIMITS.contextText) }],
            },
          ]
        : [];
    case 'fields': {
      const sections: SlackBlock[] = [];
      for (let start = 0; start < block.fields.length; start += SLACK_LIMITS.fieldsPerSection) {
        const fields = block.fields.slice(start, start + SLACK_LIMITS.fieldsPerSection).map((field) => ({
          type: 'mrkdwn',
          text: truncate(`*${toMrkdwn(field.name)}*\n${toMrkdwn(field.value) || ' '}`, SLACK_LIMITS.fieldText),
        }));
        if (fields.length) sections.push({ type: 'section', fields });
      }
      return sections;
    }
    case 'table':
      return [section(codeSection(formatTable(block.columns, block.rows), undefined, SLACK_LIMITS.sectionText))];
    case 'code':
      return [section(codeSection(block.text, block.title, SLACK_LIMITS.sectionText))];
  }
}

function buttonOf(button: NonNullable<ChatMessage['buttons']>[number]): SlackBlock {
  return {
    type: 'button',
    action_id: encodeButtonId(button),
    text: { type: 'plain_text', text: truncate(button.label, SLACK_LIMITS.buttonText), emoji: true },
    value: button.target,
    // Slack has primary and danger; its default look is our secondary.
    ...(button.style === 'primary' || button.style === 'danger' ? { style: button.style } : {}),
  };
}

/**
 * Renders a neutral message as Block Kit: the title as a header with the tone's emoji, text as mrkdwn sections,
 * tables and code as code blocks, context as a context block, buttons in one actions block; always with a `text`
 * fallback, and within Slack's limits (50 blocks, 3000 characters per section).
 */
export function renderSlackMessage(message: ChatMessage): SlackMessagePayload {
  const tone = message.tone ?? 'info';
  const blocks: SlackBlock[] = [];
  if (message.title) {
    blocks.push({
      type: 'header',
      text: { type: 'plain_text', text: truncate(`${TONE_EMOJI[tone]} ${message.title}`, SLACK_LIMITS.headerText) },
    });
  }
  for (const block of message.blocks) blocks.push(...blocksOf(block));
  const buttons = message.buttons ?? [];
  // Keep room for the buttons: they are how a learner acts on the lab.
  const room = SLACK_LIMITS.blocks - (buttons.length ? 1 : 0);
  if (blocks.length > room) {
    blocks.length = room - 1;
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: '(more not shown)' }] });
  }
  if (buttons.length) {
    blocks.push({ type: 'actions', block_id: 'labbot-actions', elements: buttons.map(buttonOf) });
  }
  const plain = messageToPlainText({ ...message, buttons: [] }).trim();
  const fallback = plain ? `${message.title ? `${TONE_EMOJI[tone]} ` : ''}${toMrkdwn(plain)}` : TONE_EMOJI[tone];
  return { text: truncate(fallback, SLACK_LIMITS.fallbackText), blocks };
}

/** An error sentence for one user, as Block Kit. */
export function renderSlackError(text: string): SlackMessagePayload {
  return {
    text: `${TONE_EMOJI.error} ${toMrkdwn(text)}`,
    blocks: [section(`${TONE_EMOJI.error} ${toMrkdwn(text)}`)],
  };
}

/** The callback id of the form that asks for a document (`/lab apply`); its one input block and action. */
export const DOCUMENT_MODAL_CALLBACK_ID = 'labbot_document';
export const DOCUMENT_INPUT_BLOCK_ID = 'document';
export const DOCUMENT_INPUT_ACTION_ID = 'document';
/** A plain-text input takes at most 3000 characters in Slack. */
export const DOCUMENT_INPUT_MAX_LENGTH = 3000;

/** A modal with one multi-line input, asking for a document; `privateMetadata` brings the context back. */
export function renderDocumentModal(
  request: { title: string; label: string; placeholder?: string },
  privateMetadata: string,
): SlackBlock {
  return {
    type: 'modal',
    callback_id: DOCUMENT_MODAL_CALLBACK_ID,
    private_metadata: privateMetadata,
    title: { type: 'plain_text', text: truncate(request.title, 24) },
    submit: { type: 'plain_text', text: 'Apply' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: DOCUMENT_INPUT_BLOCK_ID,
        label: { type: 'plain_text', text: truncate(request.label, 2000) },
        element: {
          type: 'plain_text_input',
          action_id: DOCUMENT_INPUT_ACTION_ID,
          multiline: true,
          max_length: DOCUMENT_INPUT_MAX_LENGTH,
          ...(request.placeholder
            ? { placeholder: { type: 'plain_text', text: truncate(request.placeholder, 150) } }
            : {}),
        },
      },
    ],
  };
}

export const FILES_MODAL_CALLBACK_ID = 'labbot_files';
/** The block of the form's main file (the Dockerfile of /lab build). */
export const FILES_MAIN_BLOCK_ID = 'file_main';
/** Block ids of the n-th extra file's name and content fields (n from 1). */
export const extraFileBlockIds = (n: number) => ({ name: `file_${n}_name`, content: `file_${n}_content` });
/** At most this many extra files in one files form (two fields each). */
export const MAX_EXTRA_FILES = 5;
/** A file name field holds a short relative path. */
export const FILE_NAME_MAX_LENGTH = 100;

/**
 * A modal asking for a few small text files: the main one (required) and `extraFiles` optional ones, each a name and
 * a content field; `privateMetadata` brings the context back. A plain-text input holds at most 3000 characters.
 */
export function renderFilesModal(
  request: {
    title: string;
    mainFile: { path: string; label: string; placeholder?: string };
    extraFiles: number;
    submitLabel?: string;
  },
  privateMetadata: string,
): SlackBlock {
  const extra = Math.max(0, Math.min(request.extraFiles, MAX_EXTRA_FILES));
  const input = (
    blockId: string,
    label: string,
    options: { multiline: boolean; optional: boolean; placeholder?: string; hint?: string },
  ) => ({
    type: 'input',
    block_id: blockId,
    ...(options.optional ? { optional: true } : {}),
    label: { type: 'plain_text', text: truncate(label, 2000) },
    ...(options.hint ? { hint: { type: 'plain_text', text: truncate(options.hint, 2000) } } : {}),
    element: {
      type: 'plain_text_input',
      // Each field's action_id is its block_id: action ids are unique in a view.
      action_id: blockId,
      multiline: options.multiline,
      max_length: options.multiline ? DOCUMENT_INPUT_MAX_LENGTH : FILE_NAME_MAX_LENGTH,
      ...(options.placeholder ? { placeholder: { type: 'plain_text', text: truncate(options.placeholder, 150) } } : {}),
    },
  });
  const blocks: SlackBlock[] = [
    input(FILES_MAIN_BLOCK_ID, request.mainFile.label, {
      multiline: true,
      optional: false,
      ...(request.mainFile.placeholder ? { placeholder: request.mainFile.placeholder } : {}),
    }),
  ];
  for (let n = 1; n <= extra; n += 1) {
    const ids = extraFileBlockIds(n);
    blocks.push(
      input(ids.name, `File ${n}: name (optional)`, {
        multiline: false,
        optional: true,
        placeholder: n === 1 ? 'hello.sh' : `file-${n}.txt`,
        hint: 'A path relative to the build folder, as your COPY names it, e.g. hello.sh or app/index.html.',
      }),
      input(ids.content, `File ${n}: content`, { multiline: true, optional: true }),
    );
  }
  return {
    type: 'modal',
    callback_id: FILES_MODAL_CALLBACK_ID,
    private_metadata: privateMetadata,
    title: { type: 'plain_text', text: truncate(request.title, 24) },
    submit: { type: 'plain_text', text: truncate(request.submitLabel ?? 'Send', 24) },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}
