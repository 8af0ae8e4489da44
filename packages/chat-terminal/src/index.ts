export { createTerminalChatAdapter, type TerminalAdapterOptions, TerminalChatAdapter } from './terminal-adapter.js';
