export { type ChatApp, type ChatAppOptions, startChatApp } from './chat-app.js';
export { type ChatService, type ChatServiceOptions, startChatService } from './chat-service.js';
export { createLabBot, type LabBot, type LabBotOptions } from './lab-bot.js';
export { age, podRows, podStatus, renderStatus, type StatusViewOptions } from './status-view.js';
