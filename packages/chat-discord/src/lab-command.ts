import { LAB_SUBCOMMANDS } from '@labbot/core';
import type {
  APIApplicationCommandBasicOption,
  APIApplicationCommandSubcommandOption,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';

/** One option of an interaction as discord.js or the API gives it (subcommands nest their options). */
export interface InteractionOptionLike {
  name: string;
  type: number;
  value?: string | number | boolean | undefined;
  focused?: boolean | undefined;
  options?: readonly InteractionOptionLike[] | undefined;
}

const STRING = 3;
const INTEGER = 4;
const USER = 6;
const ATTACHMENT = 11;
const SUBCOMMAND = 1;
const SUBCOMMAND_GROUP = 2;

const lessonOption = (required: boolean, description: string): APIApplicationCommandBasicOption => ({
  type: STRING,
  name: 'lesson',
  description,
  required,
  autocomplete: true,
});

const classOption: APIApplicationCommandBasicOption = {
  type: STRING,
  name: 'class',
  description: 'The class id (default: the class of this channel)',
  required: false,
};

const subcommand = (
  name: string,
  description: string,
  options: APIApplicationCommandBasicOption[] = [],
): APIApplicationCommandSubcommandOption => ({
  type: SUBCOMMAND,
  name,
  description,
  ...(options.length ? { options } : {}),
});

/**
 * `/lab` as registered with Discord: one subcommand per word of the text grammar (core's
 * parseLabCommand), options in the order the words are typed, so an interaction turns back
 * into the same text a Slack or terminal user types.
 */
export const LAB_COMMAND: RESTPostAPIChatInputApplicationCommandsJSONBody = {
  name: 'lab',
  type: 1,
  description: 'Docker and Kubernetes labs in a thread of your own',
  // 0 guild channels, 1 a DM with the bot (where labbot explains what works there).
  contexts: [0, 1],
  integration_types: [0],
  options: [
    subcommand('start', 'Start your own lab of a lesson, in a new thread', [
      lessonOption(true, 'The lesson, e.g. docker-vs-kubernetes'),
      { type: STRING, name: 'variant', description: 'A variant of the lesson, e.g. exits', required: false },
    ]),
    subcommand('status', 'Show where your lab is', [lessonOption(false, 'The lesson (default: this thread’s lab)')]),
    subcommand('check', "Run the lesson's checks", [lessonOption(false, 'The lesson (default: this thread’s lab)')]),
    subcommand('reset', 'Start your lab over from the first step', [
      lessonOption(false, 'The lesson (default: this thread’s lab)'),
    ]),
    subcommand('stop', 'Stop your lab and remove everything it made', [
      lessonOption(false, 'The lesson (default: this thread’s lab)'),
    ]),
    subcommand('kubectl', 'Run kubectl in your lab: get, describe, logs, scale, delete pod, rollout', [
      { type: STRING, name: 'args', description: 'e.g. get pods', required: true },
    ]),
    subcommand('apply', 'Apply your own Deployment, Service or ConfigMap (attach it, or paste it in a form)', [
      { type: ATTACHMENT, name: 'manifest', description: 'A YAML file (without one, a form opens)', required: false },
    ]),
    subcommand('build', 'Build your own Dockerfile (attach it, and the files it COPYs)', [
      { type: ATTACHMENT, name: 'dockerfile', description: 'Your Dockerfile', required: true },
      { type: ATTACHMENT, name: 'file1', description: 'A file your Dockerfile COPYs', required: false },
      { type: ATTACHMENT, name: 'file2', description: 'Another file', required: false },
      { type: ATTACHMENT, name: 'file3', description: 'Another file', required: false },
    ]),
    subcommand('help-me', 'In a class: raise your hand, your instructor comes to your thread', [
      { type: STRING, name: 'note', description: 'What you are stuck on', required: false, max_length: 300 },
    ]),
    subcommand('list', 'Your labs'),
    subcommand('lessons', 'The lessons you can start'),
    subcommand('help', 'How to use labbot', [
      {
        type: STRING,
        name: 'command',
        description: 'A subcommand, e.g. start',
        required: false,
        choices: LAB_SUBCOMMANDS.map((name) => ({ name, value: name })),
      },
    ]),
    {
      type: SUBCOMMAND_GROUP,
      name: 'class',
      description: 'Run a class (instructors)',
      options: [
        subcommand('start', 'Start a class: learners join with a button', [
          lessonOption(true, 'The lesson of the class'),
          { type: STRING, name: 'variant', description: 'A variant of the lesson, e.g. exits', required: false },
          {
            type: INTEGER,
            name: 'ttl',
            description: 'Minutes each lab lives',
            required: false,
            min_value: 5,
            max_value: 1440,
          },
          {
            type: INTEGER,
            name: 'max',
            description: 'Most learners who may join',
            required: false,
            min_value: 1,
            max_value: 500,
          },
          {
            type: INTEGER,
            name: 'at-once',
            description: 'Labs set up at once (the others wait in join order)',
            required: false,
            min_value: 1,
            max_value: 200,
          },
          {
            type: INTEGER,
            name: 'self-extend',
            description: 'Minutes a learner may add to their own lab per press of Extend',
            required: false,
            min_value: 1,
            max_value: 1440,
          },
          {
            type: INTEGER,
            name: 'warm',
            description: 'Labs prepared before learners join (a warm pool)',
            required: false,
            min_value: 1,
            max_value: 500,
          },
        ]),
        subcommand('join', 'Join the class of this channel: your own lab in your own thread', [classOption]),
        subcommand('status', 'Every learner of your class: stage, diagnosis, thread', [classOption]),
        subcommand('say', "Post a message in every learner's thread of your class", [
          { type: STRING, name: 'text', description: 'What to tell the class', required: true, max_length: 1000 },
        ]),
        subcommand('extend', 'Give one learner, or everyone, more minutes', [
          {
            type: INTEGER,
            name: 'minutes',
            description: 'Minutes to add',
            required: true,
            min_value: 1,
            max_value: 1440,
          },
          { type: USER, name: 'learner', description: 'One learner (default: everyone)', required: false },
        ]),
        subcommand('end', 'End the class and tear down every lab of it', [classOption]),
        subcommand('export', 'Export the results of the class as CSV', [classOption]),
      ],
    },
  ],
};

/**
 * The text after `/lab` that an interaction stands for: group, subcommand, then option values in
 * the order the command declares them (unknown options last), e.g. `start docker-vs-kubernetes`.
 */
export function commandText(options: readonly InteractionOptionLike[] | undefined): string {
  const words: string[] = [];
  let level = options ?? [];
  let declared: readonly { name: string; options?: readonly unknown[] }[] | undefined = LAB_COMMAND.options;
  for (let depth = 0; depth < 3; depth++) {
    const nested = level.find((option) => option.type === SUBCOMMAND || option.type === SUBCOMMAND_GROUP);
    if (!nested) break;
    words.push(nested.name);
    declared = declared?.find((option) => option.name === nested.name)?.options as typeof declared;
    level = nested.options ?? [];
  }
  const order = (name: string) => {
    const index = declared?.findIndex((option) => option.name === name) ?? -1;
    return index < 0 ? Number.MAX_SAFE_INTEGER : index;
  };
  const values = level
    // An attachment travels as a document beside the command, not as a word of it.
    .filter((option) => option.type !== SUBCOMMAND && option.type !== SUBCOMMAND_GROUP && option.type !== ATTACHMENT)
    .map((option, index) => ({ option, index }))
    .sort((a, b) => order(a.option.name) - order(b.option.name) || a.index - b.index)
    // Optional numbers are named (`ttl=90`), so leaving out an earlier one cannot shift a later one.
    .map(({ option }) =>
      option.type === INTEGER ? `${option.name}=${option.value ?? ''}` : String(option.value ?? ''),
    );
  return [...words, ...values].join(' ');
}

/** The value typed so far in the focused option of an autocomplete interaction. */
export function focusedValue(options: readonly InteractionOptionLike[] | undefined): string {
  for (const option of options ?? []) {
    if (option.focused) return String(option.value ?? '');
    if (option.options) {
      const inner = focusedValue(option.options);
      if (inner) return inner;
    }
  }
  return '';
}
