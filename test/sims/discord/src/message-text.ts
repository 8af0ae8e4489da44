import type { JsonObject, SimMessage } from './types.js';

/** What a user reads in a message: content, then each embed's author, title, description, fields and footer. */
export function discordMessageText(message: SimMessage | JsonObject): string {
  const data: JsonObject = isSimMessage(message) ? message.data : message;
  const lines: string[] = [];
  if (typeof data['content'] === 'string' && data['content'] !== '') lines.push(data['content']);
  for (const embed of (data['embeds'] as JsonObject[] | undefined) ?? []) {
    const author = (embed['author'] as JsonObject | undefined)?.['name'];
    if (typeof author === 'string') lines.push(author);
    if (typeof embed['title'] === 'string') lines.push(embed['title']);
    if (typeof embed['description'] === 'string') lines.push(embed['description']);
    for (const field of (embed['fields'] as JsonObject[] | undefined) ?? [])
      lines.push(`${field['name']}: ${field['value']}`);
    const footer = (embed['footer'] as JsonObject | undefined)?.['text'];
    if (typeof footer === 'string') lines.push(footer);
  }
  return lines.join('\n');
}

function isSimMessage(message: SimMessage | JsonObject): message is SimMessage {
  return Array.isArray(message['edits']) && typeof message['data'] === 'object' && message['data'] !== null;
}
