import { lstat, open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import {
  type ChatAdapter,
  type ChatCapabilities,
  type ChatFile,
  type ChatHandlers,
  type ChatMessage,
  type Conversation,
  decodeButtonId,
  encodeButtonId,
  encodeThreadId,
  type IncomingDocument,
  messageToPlainText,
  type Responder,
  truncate,
} from '@labbot/chat';
import { type Actor, GENERIC_USER_MESSAGE } from '@labbot/core';

export interface TerminalAdapterOptions {
  input: Readable;
  output: Writable;
  /** Redraw threads in place with a prompt (a terminal), or print every message as plain lines (a pipe). */
  interactive?: boolean;
  /** The local user's id (the OS user by default). */
  userId?: string;
  /** Roles of the local user (e.g. an instructor role, to try class commands); other named users have none. */
  roles?: string[];
  /** Called once the input ends (a pipe reached end of file, or the user typed Ctrl-D). */
  onInputEnd?: () => void;
  /** The most of a file or pasted block read for a command (the rest is only counted). Default 64 KiB + 1. */
  maxDocumentBytes?: number;
}

/** A line that ends a pasted block (after `/lab apply` alone on its line). */
const END_OF_BLOCK = /^(\.|EOF)$/;

interface ShownMessage {
  id: string;
  text: string;
}

interface Thread {
  id: string;
  title: string;
  messages: ShownMessage[];
}

const WORKSPACE = 'local';
const CHANNEL = 'terminal';

/** A chat adapter on a terminal: commands typed at a prompt (or piped in), each lab's thread printed as it changes. */
export class TerminalChatAdapter implements ChatAdapter {
  readonly platform = 'local' as const;
  readonly capabilities: ChatCapabilities = {
    supportsThreads: true,
    supportsEphemeral: false,
    supportsButtons: false,
    maxMessageLength: 4000,
  };

  private handlers: ChatHandlers | undefined;
  private readline: Interface | undefined;
  private readonly threads = new Map<string, Thread>();
  private readonly channel: string[] = [];
  /** The buttons shown so far, newest last: `/press <label>` presses the newest with that label. */
  private buttons: { label: string; id: string; threadId: string }[] = [];
  private nextThread = 1;
  private nextMessage = 1;
  /** Ids of this session's threads and messages differ from those of earlier sessions. */
  private readonly session = Date.now().toString(36);
  private readonly userId: string;
  private readonly interactive: boolean;
  private pending = Promise.resolve();
  /** A block being pasted after `/lab apply`: its lines so far and its full size. */
  private pasting: { userId: string; lines: string[]; kept: number; size: number } | undefined;

  constructor(private readonly options: TerminalAdapterOptions) {
    this.userId = options.userId ?? process.env.USER ?? 'you';
    this.interactive = options.interactive ?? false;
  }

  async start(handlers: ChatHandlers): Promise<void> {
    this.handlers = handlers;
    this.readline = createInterface({
      input: this.options.input,
      terminal: this.interactive,
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    if (this.interactive) {
      this.readline.setPrompt('lab> ');
      this.readline.prompt();
    }
    this.readline.on('line', (line) => {
      // Commands run one after another, in the order typed.
      this.pending = this.pending.then(() => this.handleLine(line));
    });
    this.readline.on('close', () => {
      void this.pending.then(() => this.options.onInputEnd?.());
    });
  }

  async stop(): Promise<void> {
    this.handlers = undefined;
    this.readline?.close();
    this.readline = undefined;
  }

  /**
   * Runs one typed line as `userId` (the local user unless given): `/lab <command>`. A line
   * `as ann: /lab class join` plays another learner (to try a whole class on one machine). `/press <label>`
   * presses the newest button with that label (the terminal's Join, Extend, Need help...).
   */
  async handleLine(line: string, userId = this.userId): Promise<void> {
    if (this.pasting) return this.pasteLine(line);
    const playing = /^\s*as\s+([A-Za-z0-9._-]{1,64})\s*:\s*(.*)$/.exec(line);
    if (playing) return this.handleLine(playing[2] ?? '', playing[1]);
    const trimmed = line.trim();
    if (trimmed === '' || !this.handlers) return this.prompt();
    const press = /^\/press\s+(.+)$/i.exec(trimmed);
    if (press) {
      await this.press(press[1]?.trim() ?? '', userId);
      return this.prompt();
    }
    if (!/^\/lab(\s|$)/.test(trimmed)) {
      this.say(`Commands start with /lab, e.g. /lab start docker-vs-kubernetes (try /lab help).`);
      return this.prompt();
    }
    const text = trimmed.replace(/^\/lab\s*/, '');
    const apply = /^apply(?:\s+(\S+))?$/i.exec(text);
    if (apply && apply[1] === undefined) {
      // `/lab apply` alone: the lines after it are the manifest, up to a line with a single "." (or EOF).
      this.pasting = { userId, lines: [], kept: 0, size: 0 };
      this.say('Paste the manifest, then a line with a single "." to apply it.');
      return this.prompt();
    }
    const document = apply?.[1] ? await this.readDocument(apply[1]) : undefined;
    if (document === null) return this.prompt();
    await this.dispatch(text, userId, document);
    this.prompt();
  }

  private async pasteLine(line: string): Promise<void> {
    const pasting = this.pasting;
    if (!pasting) return;
    if (END_OF_BLOCK.test(line.trim())) {
      this.pasting = undefined;
      await this.dispatch('apply', pasting.userId, {
        text: pasting.lines.join('\n'),
        size: pasting.size,
      });
      return this.prompt();
    }
    const bytes = Buffer.byteLength(line) + 1;
    pasting.size += bytes;
    if (pasting.kept + bytes <= this.maxDocumentBytes()) {
      pasting.lines.push(line);
      pasting.kept += bytes;
    }
  }

  private maxDocumentBytes(): number {
    return this.options.maxDocumentBytes ?? 64 * 1024 + 1;
  }

  /** A local file named after `/lab apply`: at most maxDocumentBytes are read, the size is reported whole. */
  private async readDocument(path: string): Promise<IncomingDocument | null> {
    try {
      const file = await open(path, 'r');
      try {
        const { size } = await file.stat();
        const buffer = Buffer.alloc(Math.min(size, this.maxDocumentBytes()));
        const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
        return { name: path, text: buffer.subarray(0, bytesRead).toString('utf8'), size };
      } finally {
        await file.close();
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.say(
        `✖ Cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : 'it cannot be opened'}.`,
      );
      return null;
    }
  }

  /** A button press, as Discord and Slack deliver one: its id decoded (and validated) like theirs. */
  private async press(label: string, userId: string): Promise<void> {
    if (!this.handlers) return;
    const shown = this.buttons.findLast((button) => button.label.toLowerCase() === label.toLowerCase());
    const decoded = shown ? decodeButtonId(shown.id) : undefined;
    if (!shown || !decoded) {
      this.say(`✖ There is no [${label.slice(0, 40)}] button to press.`);
      return;
    }
    try {
      await this.handlers.onAction({
        actor: this.actorOf(userId),
        action: decoded.action,
        target: decoded.target,
        conversation: { platform: 'local', workspaceId: WORKSPACE, channelId: CHANNEL, threadId: shown.threadId },
        respond: this.responder(),
      });
    } catch {
      this.say(GENERIC_USER_MESSAGE);
    }
  }

  /** Who typed or pressed: the configured roles belong to the chat's own user only (`as ann:` lines get none). */
  private actorOf(userId: string): Actor {
    return {
      platform: 'local',
      workspaceId: WORKSPACE,
      userId,
      roles: userId === this.userId ? (this.options.roles ?? []) : [],
    };
  }

  /** Remembers a message's buttons so `/press` can find them. */
  private keepButtons(threadId: string, message: ChatMessage): void {
    for (const button of message.buttons ?? []) {
      this.buttons.push({ label: button.label, id: encodeButtonId(button), threadId });
    }
    if (this.buttons.length > 1000) this.buttons = this.buttons.slice(-500);
  }

  private async dispatch(text: string, userId: string, document?: IncomingDocument): Promise<void> {
    if (!this.handlers) return;
    const conversation: Conversation = { platform: 'local', workspaceId: WORKSPACE, channelId: CHANNEL };
    const respond = this.responder();
    try {
      await this.handlers.onCommand({
        actor: this.actorOf(userId),
        text,
        ...(document ? { document } : {}),
        conversation,
        respond,
        readFolder: (folder) => readFolderFiles(folder),
      });
    } catch {
      this.say(GENERIC_USER_MESSAGE);
    }
  }

  async postMessage(threadId: string, message: ChatMessage): Promise<string> {
    const thread = this.thread(threadId);
    const id = `${this.session}-${this.nextMessage++}`;
    const shown = { id, text: this.render(message) };
    thread.messages.push(shown);
    this.keepButtons(threadId, message);
    this.show(thread, shown, false);
    return id;
  }

  async editMessage(threadId: string, messageId: string, message: ChatMessage): Promise<void> {
    const thread = this.thread(threadId);
    let shown = thread.messages.find((m) => m.id === messageId);
    if (!shown) {
      // A message of an earlier session (the terminal forgets on exit): show it again under its id.
      shown = { id: messageId, text: '' };
      thread.messages.push(shown);
    }
    this.keepButtons(threadId, message);
    const text = this.render(message);
    if (text === shown.text) return;
    shown.text = text;
    this.show(thread, shown, true);
  }

  threadLink(threadId: string): string {
    const thread = this.threads.get(threadId);
    return thread ? `thread "${thread.title}"` : 'your thread';
  }

  /** What the user sees in a thread now, one text per message. */
  threadTexts(threadId: string): string[] {
    return this.threads.get(threadId)?.messages.map((m) => m.text) ?? [];
  }

  /** What the user sees outside threads: answers and errors. */
  channelTexts(): string[] {
    return [...this.channel];
  }

  private responder(): Responder {
    return {
      defer: async () => {},
      reply: async (message) => this.say(this.render(message)),
      error: async (text) => this.say(`✖ ${text}`),
      openThread: async ({ announcement, title }) => {
        const id = encodeThreadId({
          platform: 'local',
          workspaceId: WORKSPACE,
          channelId: CHANNEL,
          threadId: `${this.session}-${this.nextThread++}`,
        });
        this.threads.set(id, { id, title, messages: [] });
        this.say(`${this.render(announcement)}\n→ thread "${title}" opened`);
        return id;
      },
    };
  }

  /** A thread of this session, or one of an earlier session (a lab that outlived `labbot chat`), shown again. */
  private thread(threadId: string): Thread {
    let thread = this.threads.get(threadId);
    if (!thread) {
      const part = threadId.split(':').at(-1);
      thread = {
        id: threadId,
        // The channel itself (e.g. a class message) or a lab thread that outlived an earlier session.
        title: part === CHANNEL ? 'channel' : `lab thread ${part} (from an earlier session)`,
        messages: [],
      };
      this.threads.set(threadId, thread);
    }
    return thread;
  }

  private render(message: ChatMessage): string {
    return truncate(messageToPlainText(message), this.capabilities.maxMessageLength);
  }

  private say(text: string): void {
    this.channel.push(text);
    this.write(`${text}\n`);
  }

  private show(thread: Thread, message: ShownMessage, edited: boolean): void {
    if (this.interactive) {
      this.redraw();
      return;
    }
    const position = thread.messages.indexOf(message) + 1;
    const header = `── ${thread.title} · message ${position}${edited ? ' (updated)' : ''} ──`;
    this.write(`${header}\n${message.text}\n`);
  }

  /** Interactive mode: clear the screen and draw every thread's current messages, then the prompt. */
  private redraw(): void {
    const parts = ['\x1b[2J\x1b[H'];
    for (const thread of this.threads.values()) {
      parts.push(`══ ${thread.title} ══\n`);
      for (const message of thread.messages) parts.push(`${message.text}\n\n`);
    }
    const recent = this.channel.slice(-5);
    if (recent.length) parts.push(`── you ──\n${recent.join('\n')}\n`);
    this.write(parts.join(''));
    this.prompt();
  }

  private prompt(): void {
    if (this.interactive) this.readline?.prompt(true);
  }

  private write(text: string): void {
    this.options.output.write(text);
  }
}

export function createTerminalChatAdapter(options: TerminalAdapterOptions): TerminalChatAdapter {
  return new TerminalChatAdapter(options);
}

/** Files read from a folder at most: a lab build takes far less, so reading stops early. */
const MAX_FOLDER_FILES = 60;
const MAX_FOLDER_BYTES = 2 * 1024 * 1024;

/** The regular files of a folder on this machine (the local chat runs as the user), with relative paths. */
export async function readFolderFiles(folder: string): Promise<ChatFile[]> {
  const root = path.resolve(folder);
  const files: ChatFile[] = [];
  let bytes = 0;
  async function walk(relative: string): Promise<void> {
    for (const name of (await readdir(path.join(root, relative))).sort()) {
      if (files.length >= MAX_FOLDER_FILES || bytes > MAX_FOLDER_BYTES) return;
      if (name === '.git' || name === 'node_modules') continue;
      const child = relative ? `${relative}/${name}` : name;
      const stat = await lstat(path.join(root, child));
      if (stat.isDirectory()) await walk(child);
      else if (stat.isFile()) {
        // Stop before reading a file that alone is above what a build takes; the builder says why.
        const content =
          stat.size > MAX_FOLDER_BYTES
            ? new Uint8Array(stat.size > 0 ? MAX_FOLDER_BYTES + 1 : 0)
            : await readFile(path.join(root, child));
        bytes += content.length;
        files.push({ path: child, content, mode: stat.mode & 0o7777 });
      }
    }
  }
  await walk('');
  return files;
}
