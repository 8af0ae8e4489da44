export { type ChatApp, type ChatAppOptions, startChatApp } from './chat-app.js';
export { type ChatService, type ChatServiceOptions, startChatService } from './chat-service.js';
export { type BotLogger, createLabBot, type LabBot, type LabBotOptions } from './lab-bot.js';
export { buildResultMessage, manifestMessage } from './learner-build.js';
export { age, podRows, podStatus, renderStatus, type StatusViewOptions } from './status-view.js';
