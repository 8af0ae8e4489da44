export {
  createSlackAdapter,
  SlackChatAdapter,
} from './slack-adapter.js';
