import type { ChatFile } from '@labbot/chat';

/** An attachment option of a slash command, as discord.js resolves it. */
export interface AttachmentLike {
  name: string;
  url: string;
  size: number;
}

/** An interaction option that may carry an attachment (type 11), nested under subcommands. */
export interface AttachmentOptionLike {
  name: string;
  type: number;
  attachment?: AttachmentLike | null | undefined;
  options?: readonly AttachmentOptionLike[] | undefined;
}

export const ATTACHMENT = 11;
/** The option that holds the Dockerfile of /lab build: it is named Dockerfile whatever the upload's name. */
export const DOCKERFILE_OPTION = 'dockerfile';
/** Hosts Discord serves attachments from; nothing else is ever fetched (no request forgery through a URL). */
export const DISCORD_ATTACHMENT_HOSTS = ['cdn.discordapp.com', 'media.discordapp.net'];

export interface FetchAttachmentsOptions {
  /** Hosts (host or host:port) attachments may come from (default Discord's CDN). */
  allowedHosts?: readonly string[];
  /** Largest attachment fetched (default 1 MiB, the lab build's context limit). */
  maxBytes?: number;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** The attachment options of an interaction, in the order given, with the option name. */
export function attachmentOptions(
  options: readonly AttachmentOptionLike[] | undefined,
): { option: string; attachment: AttachmentLike }[] {
  const found: { option: string; attachment: AttachmentLike }[] = [];
  for (const option of options ?? []) {
    if (option.type === ATTACHMENT && option.attachment)
      found.push({ option: option.name, attachment: option.attachment });
    found.push(...attachmentOptions(option.options));
  }
  return found;
}

/** A refusal the learner reads (a file too big, or not from Discord). */
export class AttachmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttachmentError';
  }
}

/** Downloads the attachments of a command from Discord's CDN only, each bounded in size. */
export async function fetchAttachments(
  options: readonly AttachmentOptionLike[] | undefined,
  settings: FetchAttachmentsOptions = {},
): Promise<ChatFile[]> {
  const allowed = settings.allowedHosts ?? DISCORD_ATTACHMENT_HOSTS;
  const maxBytes = settings.maxBytes ?? 1024 * 1024;
  const doFetch = settings.fetch ?? fetch;
  const files: ChatFile[] = [];
  for (const { option, attachment } of attachmentOptions(options)) {
    const url = new URL(attachment.url);
    if (!['https:', 'http:'].includes(url.protocol) || !allowed.includes(url.host)) {
      throw new AttachmentError(`The attachment "${attachment.name}" does not come from Discord, so it was not read.`);
    }
    if (attachment.size > maxBytes) {
      throw new AttachmentError(
        `The attachment "${attachment.name}" is ${Math.ceil(attachment.size / 1024)} KiB; a lab build takes at most ${Math.round(maxBytes / 1024)} KiB in all.`,
      );
    }
    const response = await doFetch(url, {
      signal: AbortSignal.timeout(settings.timeoutMs ?? 10_000),
      redirect: 'error',
    });
    if (!response.ok) throw new AttachmentError(`The attachment "${attachment.name}" could not be downloaded.`);
    const content = new Uint8Array(await response.arrayBuffer());
    if (content.length > maxBytes) {
      throw new AttachmentError(
        `The attachment "${attachment.name}" is larger than ${Math.round(maxBytes / 1024)} KiB.`,
      );
    }
    const path = option === DOCKERFILE_OPTION ? 'Dockerfile' : attachment.name.replace(/[\\/]/g, '_');
    files.push({ path, content });
  }
  return files;
}
