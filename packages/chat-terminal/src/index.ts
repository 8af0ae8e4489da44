export { createTerminalChatAdapter, TerminalChatAdapter } from './terminal-adapter.js';
