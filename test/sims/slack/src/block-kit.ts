// Block Kit limits from Slack's reference (api.slack.com/reference/block-kit). Each problem is reported the way
// Slack does in response_metadata.messages: "[ERROR] <what> [json-pointer:/blocks/0/text/text]".

type Json = Record<string, unknown>;

const blockTypes = new Set([
  'section',
  'actions',
  'context',
  'divider',
  'header',
  'image',
  'input',
  'rich_text',
  'markdown',
  'file',
  'video',
  'context_actions',
]);
const interactiveTypes = new Set([
  'button',
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'multi_static_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
  'overflow',
  'datepicker',
  'timepicker',
  'datetimepicker',
  'checkboxes',
  'radio_buttons',
  'plain_text_input',
  'email_text_input',
  'url_text_input',
  'number_input',
  'rich_text_input',
  'workflow_button',
]);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Checker {
  readonly problems: string[] = [];
  readonly blockIds = new Set<string>();
  readonly actionIds = new Set<string>();

  fail(pointer: string, message: string): void {
    this.problems.push(`[ERROR] ${message} [json-pointer:${pointer}]`);
  }

  maxLength(value: unknown, max: number, pointer: string): void {
    if (typeof value === 'string' && value.length > max) this.fail(pointer, `must be less than ${max + 1} characters`);
  }

  text(value: unknown, pointer: string, max: number, plainOnly = false): void {
    if (!isObject(value)) {
      this.fail(pointer, 'must provide an object');
      return;
    }
    const type = value['type'];
    if (type !== 'plain_text' && (plainOnly || type !== 'mrkdwn')) {
      this.fail(`${pointer}/type`, `must be ${plainOnly ? 'plain_text' : 'plain_text or mrkdwn'}`);
    }
    if (typeof value['text'] !== 'string' || value['text'].length === 0) {
      this.fail(`${pointer}/text`, 'must be more than 0 characters');
    }
    this.maxLength(value['text'], max, `${pointer}/text`);
  }

  actionId(value: unknown, pointer: string): void {
    if (value === undefined) return;
    if (typeof value !== 'string') {
      this.fail(pointer, 'must be a string');
      return;
    }
    this.maxLength(value, 255, pointer);
    if (this.actionIds.has(value)) this.fail(pointer, `duplicate action_id: ${value}`);
    this.actionIds.add(value);
  }

  element(value: unknown, pointer: string): void {
    if (!isObject(value)) {
      this.fail(pointer, 'must provide an object');
      return;
    }
    const type = value['type'];
    if (type === 'image') {
      this.maxLength(value['image_url'], 3000, `${pointer}/image_url`);
      this.maxLength(value['alt_text'], 2000, `${pointer}/alt_text`);
      return;
    }
    if (typeof type !== 'string' || !interactiveTypes.has(type)) {
      this.fail(`${pointer}/type`, `unknown element type ${String(type)}`);
      return;
    }
    this.actionId(value['action_id'], `${pointer}/action_id`);
    if (type === 'button') {
      this.text(value['text'], `${pointer}/text`, 75, true);
      this.maxLength(value['value'], 2000, `${pointer}/value`);
      this.maxLength(value['url'], 3000, `${pointer}/url`);
      const style = value['style'];
      if (style !== undefined && style !== 'primary' && style !== 'danger') {
        this.fail(`${pointer}/style`, 'must be primary or danger');
      }
    }
    const options = value['options'];
    if (Array.isArray(options)) {
      if (options.length > 100) this.fail(`${pointer}/options`, 'must provide no more than 100 items');
      options.forEach((option, index) => {
        if (!isObject(option)) return;
        this.text(option['text'], `${pointer}/options/${index}/text`, 75);
        this.maxLength(option['value'], 150, `${pointer}/options/${index}/value`);
      });
    }
    if (value['placeholder'] !== undefined) this.text(value['placeholder'], `${pointer}/placeholder`, 150, true);
  }

  block(value: unknown, pointer: string): void {
    if (!isObject(value)) {
      this.fail(pointer, 'must provide an object');
      return;
    }
    const type = value['type'];
    if (typeof type !== 'string' || !blockTypes.has(type)) {
      this.fail(`${pointer}/type`, `unknown block type ${String(type)}`);
      return;
    }
    const blockId = value['block_id'];
    if (blockId !== undefined) {
      if (typeof blockId !== 'string') this.fail(`${pointer}/block_id`, 'must be a string');
      else {
        this.maxLength(blockId, 255, `${pointer}/block_id`);
        if (this.blockIds.has(blockId)) this.fail(`${pointer}/block_id`, `duplicate block_id: ${blockId}`);
        this.blockIds.add(blockId);
      }
    }
    switch (type) {
      case 'section': {
        const fields = value['fields'];
        if (value['text'] === undefined && fields === undefined) {
          this.fail(pointer, 'must provide text or fields');
        }
        if (value['text'] !== undefined) this.text(value['text'], `${pointer}/text`, 3000);
        if (Array.isArray(fields)) {
          if (fields.length > 10) this.fail(`${pointer}/fields`, 'must provide no more than 10 items');
          fields.forEach((field, index) => {
            this.text(field, `${pointer}/fields/${index}`, 2000);
          });
        }
        if (value['accessory'] !== undefined) this.element(value['accessory'], `${pointer}/accessory`);
        break;
      }
      case 'header':
        this.text(value['text'], `${pointer}/text`, 150, true);
        break;
      case 'actions': {
        const elements = value['elements'];
        if (!Array.isArray(elements) || elements.length === 0) {
          this.fail(`${pointer}/elements`, 'must provide at least 1 item');
          break;
        }
        if (elements.length > 25) this.fail(`${pointer}/elements`, 'must provide no more than 25 items');
        elements.forEach((element, index) => {
          this.element(element, `${pointer}/elements/${index}`);
        });
        break;
      }
      case 'context': {
        const elements = value['elements'];
        if (!Array.isArray(elements) || elements.length === 0) {
          this.fail(`${pointer}/elements`, 'must provide at least 1 item');
          break;
        }
        if (elements.length > 10) this.fail(`${pointer}/elements`, 'must provide no more than 10 items');
        elements.forEach((element, index) => {
          if (isObject(element) && element['type'] === 'image') this.element(element, `${pointer}/elements/${index}`);
          else this.text(element, `${pointer}/elements/${index}`, 3000);
        });
        break;
      }
      case 'image':
        this.maxLength(value['image_url'], 3000, `${pointer}/image_url`);
        this.maxLength(value['alt_text'], 2000, `${pointer}/alt_text`);
        break;
      case 'markdown':
        this.maxLength(value['text'], 12000, `${pointer}/text`);
        break;
      case 'input':
        this.text(value['label'], `${pointer}/label`, 2000, true);
        this.element(value['element'], `${pointer}/element`);
        break;
      default:
        break;
    }
  }
}

/** Problems with a blocks array ([] when valid); `max` is 50 for messages, 100 for modals and Home tabs. */
export function checkBlocks(blocks: unknown, max = 50, pointer = '/blocks'): string[] {
  const checker = new Checker();
  if (!Array.isArray(blocks)) {
    checker.fail(pointer, 'must provide an array');
    return checker.problems;
  }
  if (blocks.length > max) checker.fail(pointer, `no more than ${max} items allowed`);
  blocks.forEach((block, index) => {
    checker.block(block, `${pointer}/${index}`);
  });
  return checker.problems;
}

/** Problems with a modal view passed to views.open ([] when valid). */
export function checkView(view: unknown): string[] {
  if (!isObject(view)) return ['[ERROR] must provide an object [json-pointer:/view]'];
  const problems: string[] = [];
  if (view['type'] !== 'modal' && view['type'] !== 'home') {
    problems.push('[ERROR] must be modal or home [json-pointer:/view/type]');
  }
  if (view['type'] === 'modal') {
    const title = view['title'];
    const text = isObject(title) ? title['text'] : undefined;
    if (typeof text !== 'string' || text.length === 0 || text.length > 24) {
      problems.push('[ERROR] must be between 1 and 24 characters [json-pointer:/view/title/text]');
    }
  }
  const callbackId = view['callback_id'];
  if (typeof callbackId === 'string' && callbackId.length > 255) {
    problems.push('[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]');
  }
  const metadata = view['private_metadata'];
  if (typeof metadata === 'string' && metadata.length > 3000) {
    problems.push('[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]');
  }
  return [...problems, ...checkBlocks(view['blocks'], 100, '/view/blocks')];
}
