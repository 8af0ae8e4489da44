import { ComponentType, MessageFlags } from 'discord-api-types/v10';
import { z } from 'zod';

// Limits from Discord's API documentation (the same ones discord-api-types and @discordjs/builders encode).

const snowflake = z.string().regex(/^\d{17,20}$/, 'not a snowflake');

const emoji = z.looseObject({ id: snowflake.nullable().optional(), name: z.string().nullable().optional() });

const button = z
  .looseObject({
    type: z.literal(ComponentType.Button),
    style: z.number().int().min(1).max(6),
    label: z.string().max(80).optional(),
    custom_id: z.string().min(1).max(100).optional(),
    url: z.string().max(512).optional(),
    sku_id: snowflake.optional(),
    emoji: emoji.optional(),
    disabled: z.boolean().optional(),
  })
  .superRefine((value, context) => {
    const isLink = value.style === 5;
    const isPremium = value.style === 6;
    if (isLink && (value.url === undefined || value.custom_id !== undefined)) {
      context.addIssue({ code: 'custom', message: 'A link button needs a url and no custom_id.' });
    }
    if (!isLink && !isPremium && value.custom_id === undefined) {
      context.addIssue({ code: 'custom', message: 'A non-link button needs a custom_id.' });
    }
    if (!isPremium && value.label === undefined && value.emoji === undefined) {
      context.addIssue({ code: 'custom', message: 'A button needs a label or an emoji.' });
    }
  });

const selectOption = z.looseObject({
  label: z.string().min(1).max(100),
  value: z.string().min(1).max(100),
  description: z.string().max(100).optional(),
  emoji: emoji.optional(),
  default: z.boolean().optional(),
});

const selectMenu = z.looseObject({
  type: z.union([
    z.literal(ComponentType.StringSelect),
    z.literal(ComponentType.UserSelect),
    z.literal(ComponentType.RoleSelect),
    z.literal(ComponentType.MentionableSelect),
    z.literal(ComponentType.ChannelSelect),
  ]),
  custom_id: z.string().min(1).max(100),
  options: z.array(selectOption).max(25).optional(),
  placeholder: z.string().max(150).optional(),
  min_values: z.number().int().min(0).max(25).optional(),
  max_values: z.number().int().min(1).max(25).optional(),
  disabled: z.boolean().optional(),
});

const actionRow = z
  .looseObject({
    type: z.literal(ComponentType.ActionRow),
    components: z
      .array(z.union([button, selectMenu]))
      .min(1)
      .max(5),
  })
  .superRefine((row, context) => {
    const hasSelect = row.components.some((component) => component.type !== ComponentType.Button);
    if (hasSelect && row.components.length > 1) {
      context.addIssue({ code: 'custom', message: 'A select menu must be alone in its action row.' });
    }
  });

const embedField = z.looseObject({
  name: z.string().min(1).max(256),
  value: z.string().min(1).max(1024),
  inline: z.boolean().optional(),
});

const embed = z
  .looseObject({
    title: z.string().max(256).optional(),
    description: z.string().max(4096).optional(),
    url: z.string().optional(),
    timestamp: z.string().optional(),
    color: z.number().int().min(0).max(0xffffff).optional(),
    footer: z.looseObject({ text: z.string().max(2048), icon_url: z.string().optional() }).optional(),
    author: z.looseObject({ name: z.string().max(256), url: z.string().optional() }).optional(),
    fields: z.array(embedField).max(25).optional(),
    image: z.looseObject({ url: z.string() }).optional(),
    thumbnail: z.looseObject({ url: z.string() }).optional(),
  })
  .superRefine((value, context) => {
    if (embedTextLength(value) > 6000) {
      context.addIssue({ code: 'custom', message: 'Embed size exceeds maximum size of 6000' });
    }
  });

function embedTextLength(value: z.infer<typeof embedField>[] | Record<string, unknown>): number {
  const record = value as {
    title?: string;
    description?: string;
    footer?: { text?: string };
    author?: { name?: string };
    fields?: { name: string; value: string }[];
  };
  let total = (record.title?.length ?? 0) + (record.description?.length ?? 0);
  total += (record.footer?.text?.length ?? 0) + (record.author?.name?.length ?? 0);
  for (const field of record.fields ?? []) total += field.name.length + field.value.length;
  return total;
}

/** Body of a message create/edit (channel messages, webhooks, interaction callback data). */
export const messageBodySchema = z
  .looseObject({
    content: z.string().max(2000).nullable().optional(),
    embeds: z.array(embed).max(10).nullable().optional(),
    components: z.array(z.unknown()).max(5).nullable().optional(),
    flags: z.number().int().min(0).nullable().optional(),
    tts: z.boolean().optional(),
    nonce: z.union([z.string().max(25), z.number().int()]).optional(),
    allowed_mentions: z.looseObject({}).nullable().optional(),
    attachments: z.array(z.looseObject({})).nullable().optional(),
    sticker_ids: z.array(snowflake).max(3).optional(),
    message_reference: z.looseObject({}).optional(),
  })
  .superRefine((body, context) => {
    const componentsV2 = ((body.flags ?? 0) & MessageFlags.IsComponentsV2) !== 0;
    if (componentsV2 || !body.components) return;
    // Classic components: top level is only action rows, custom ids unique within the message.
    const seen = new Set<string>();
    body.components.forEach((row, index) => {
      const parsed = actionRow.safeParse(row);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          context.addIssue({ code: 'custom', message: issue.message, path: ['components', index, ...issue.path] });
        }
        return;
      }
      for (const component of parsed.data.components) {
        const customId = 'custom_id' in component ? component.custom_id : undefined;
        if (customId === undefined) continue;
        if (seen.has(customId)) {
          context.addIssue({
            code: 'custom',
            message: `Component custom id cannot be duplicated: ${customId}`,
            path: ['components', index],
          });
        }
        seen.add(customId);
      }
    });
  });

export type MessageBody = z.infer<typeof messageBodySchema>;

/** True when a message body would show nothing (Discord answers 50006). */
export function isEmptyMessage(body: MessageBody, fileCount: number): boolean {
  const hasContent = typeof body.content === 'string' && body.content.trim().length > 0;
  const hasEmbeds = (body.embeds?.length ?? 0) > 0;
  const hasComponents = (body.components?.length ?? 0) > 0;
  const hasStickers = (body.sticker_ids?.length ?? 0) > 0;
  return !hasContent && !hasEmbeds && !hasComponents && !hasStickers && fileCount === 0 && body.poll === undefined;
}

/** Body of POST channels/:id/messages/:mid/threads and channels/:id/threads. */
export const threadBodySchema = z.looseObject({
  name: z.string().min(1).max(100),
  auto_archive_duration: z
    .union([z.literal(60), z.literal(1440), z.literal(4320), z.literal(10080)])
    .nullable()
    .optional(),
  rate_limit_per_user: z.number().int().min(0).max(21600).nullable().optional(),
  type: z
    .union([z.literal(10), z.literal(11), z.literal(12)])
    .nullable()
    .optional(),
  invitable: z.boolean().nullable().optional(),
});

/** Body of PATCH channels/:id (the parts the sim applies: name, topic, and a thread's archive state). */
export const channelPatchSchema = z.looseObject({
  name: z.string().min(1).max(100).optional(),
  topic: z.string().max(1024).nullable().optional(),
  archived: z.boolean().optional(),
  locked: z.boolean().optional(),
  auto_archive_duration: z.union([z.literal(60), z.literal(1440), z.literal(4320), z.literal(10080)]).optional(),
});

const autocompleteChoice = z.looseObject({
  name: z.string().min(1).max(100),
  value: z.union([z.string().max(100), z.number()]),
});

const modalBody = z.looseObject({
  custom_id: z.string().min(1).max(100),
  title: z.string().min(1).max(45),
  components: z.array(z.unknown()).min(1).max(5),
});

/** Body of POST /interactions/:id/:token/callback. */
export const interactionCallbackSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal(1) }),
  z.looseObject({ type: z.literal(4), data: messageBodySchema }),
  z.looseObject({ type: z.literal(5), data: z.looseObject({ flags: z.number().int().optional() }).optional() }),
  z.looseObject({ type: z.literal(6) }),
  z.looseObject({ type: z.literal(7), data: messageBodySchema.optional() }),
  z.looseObject({ type: z.literal(8), data: z.looseObject({ choices: z.array(autocompleteChoice).max(25) }) }),
  z.looseObject({ type: z.literal(9), data: modalBody }),
  z.looseObject({ type: z.literal(10) }),
  z.looseObject({ type: z.literal(12) }),
]);

export type InteractionCallbackBody = z.infer<typeof interactionCallbackSchema>;

// Command and option names: 1-32 chars, lowercase letters/digits/-/_ (plus some scripts), no spaces.
const commandName = z
  .string()
  .regex(/^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u, 'Invalid command name')
  .refine((name) => name === name.toLowerCase(), 'Command names must be lowercase');

const optionChoice = z.looseObject({
  name: z.string().min(1).max(100),
  value: z.union([z.string().max(100), z.number()]),
});

type CommandOption = {
  type: number;
  name: string;
  description: string;
  required?: boolean | undefined;
  choices?: unknown[] | undefined;
  options?: CommandOption[] | undefined;
  autocomplete?: boolean | undefined;
};

const commandOption: z.ZodType<CommandOption> = z.lazy(() =>
  z
    .looseObject({
      type: z.number().int().min(1).max(11),
      name: commandName,
      description: z.string().min(1).max(100),
      required: z.boolean().optional(),
      choices: z.array(optionChoice).max(25).optional(),
      options: z.array(commandOption).max(25).optional(),
      autocomplete: z.boolean().optional(),
      min_length: z.number().int().min(0).max(6000).optional(),
      max_length: z.number().int().min(1).max(6000).optional(),
    })
    .superRefine((option, context) => {
      if (option.autocomplete && option.choices && option.choices.length > 0) {
        context.addIssue({ code: 'custom', message: 'Autocomplete cannot be set with choices.' });
      }
      if (option.options) checkOptionList(option.options, context);
    }),
);

function checkOptionList(options: CommandOption[], context: z.RefinementCtx): void {
  const names = new Set<string>();
  let optionalSeen = false;
  const subcommands = options.filter((option) => option.type === 1 || option.type === 2).length;
  if (subcommands > 0 && subcommands !== options.length) {
    context.addIssue({ code: 'custom', message: 'Subcommands cannot be mixed with other option types.' });
  }
  for (const option of options) {
    if (names.has(option.name)) {
      context.addIssue({ code: 'custom', message: `Duplicate option name ${option.name}` });
    }
    names.add(option.name);
    if (option.type === 1 || option.type === 2) continue;
    if (option.required && optionalSeen) {
      context.addIssue({ code: 'custom', message: 'Required options must be placed before non-required options' });
    }
    if (!option.required) optionalSeen = true;
  }
}

/** One application command as sent in PUT/POST applications/:id/commands. */
export const applicationCommandSchema = z
  .looseObject({
    name: commandName,
    type: z.number().int().min(1).max(4).optional(),
    description: z.string().max(100).optional(),
    options: z.array(commandOption).max(25).optional(),
    default_member_permissions: z.string().nullable().optional(),
    dm_permission: z.boolean().nullable().optional(),
    contexts: z.array(z.number().int().min(0).max(2)).nullable().optional(),
    integration_types: z.array(z.number().int().min(0).max(1)).nullable().optional(),
    nsfw: z.boolean().optional(),
  })
  .superRefine((command, context) => {
    const isChatInput = (command.type ?? 1) === 1;
    if (isChatInput && (command.description === undefined || command.description.length === 0)) {
      context.addIssue({ code: 'custom', message: 'A chat input command needs a description (1-100).' });
    }
    if (command.options) checkOptionList(command.options, context);
    const characters = commandCharacters(command);
    if (characters > 4000) {
      context.addIssue({
        code: 'custom',
        message: `Command names, descriptions and choice values add up to ${characters} characters (at most 4000).`,
      });
    }
  });

/**
 * Discord's size rule for one command: the names, descriptions and choice names and values of the command and
 * all its options, added up, are at most 4000 characters.
 */
function commandCharacters(node: unknown): number {
  if (Array.isArray(node)) return node.reduce((sum: number, item) => sum + commandCharacters(item), 0);
  if (!node || typeof node !== 'object') return 0;
  const { name, description, value, options, choices } = node as Record<string, unknown>;
  const text = (field: unknown) => (typeof field === 'string' || typeof field === 'number' ? String(field).length : 0);
  return text(name) + text(description) + text(value) + commandCharacters(options) + commandCharacters(choices);
}

/** Body of PUT applications/:id/commands (bulk overwrite): at most 100 commands, unique names. */
export const bulkCommandsSchema = z.array(applicationCommandSchema).max(100);

/** Discord's "Invalid Form Body" error tree from zod issues (path → { _errors: [...] }). */
export function toDiscordFormErrors(issues: readonly z.core.$ZodIssue[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const issue of issues) {
    let node = root;
    for (const segment of issue.path) {
      const key = String(segment);
      const next = (node[key] as Record<string, unknown> | undefined) ?? {};
      node[key] = next;
      node = next;
    }
    const errors = (node['_errors'] as unknown[] | undefined) ?? [];
    errors.push({
      code: issue.code === 'too_big' ? 'BASE_TYPE_MAX_LENGTH' : 'BASE_TYPE_BAD_VALUE',
      message: issue.message,
    });
    node['_errors'] = errors;
  }
  return root;
}
