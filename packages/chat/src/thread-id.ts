import { type Platform, PlatformSchema } from '@labbot/core';

/**
 * Where a lab's messages go, as a plain string: `<platform>:<workspace>:<channel>:<thread>`, e.g.
 * `discord:<guild>:<channel>:<thread>` or `slack:<team>:<channel>:<thread_ts>`. The runner carries
 * it in LabEvents without knowing any chat platform.
 */
export interface ThreadAddress {
  platform: Platform;
  workspaceId: string;
  channelId: string;
  threadId: string;
}

const PART = /^[A-Za-z0-9._@-]{1,128}$/;

export function encodeThreadId(address: ThreadAddress): string {
  for (const [name, value] of Object.entries(address)) {
    if (!PART.test(value)) throw new Error(`thread address part ${name} is not encodable: ${JSON.stringify(value)}`);
  }
  return [address.platform, address.workspaceId, address.channelId, address.threadId].join(':');
}

/** Decodes a thread id; undefined when it is not one. */
export function decodeThreadId(value: string): ThreadAddress | undefined {
  const parts = value.split(':');
  if (parts.length !== 4 || !parts.every((part) => PART.test(part))) return undefined;
  const [platform, workspaceId, channelId, threadId] = parts as [string, string, string, string];
  const parsed = PlatformSchema.safeParse(platform);
  return parsed.success ? { platform: parsed.data, workspaceId, channelId, threadId } : undefined;
}

/** The platform a thread id belongs to, which picks the outbox that delivers to it. */
export function platformOfThread(threadId: string): Platform | undefined {
  return decodeThreadId(threadId)?.platform;
}
