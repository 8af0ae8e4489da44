export { type ChatApp, STORE_READS_CONNECTION_NAME, startChatApp } from './chat-app.js';
export { type ChatService, startChatService } from './chat-service.js';

export { classExportCsv } from './class-bot.js';

export { BUILD_FILES_REQUEST, buildResultMessage, manifestMessage } from './learner-build.js';
export { renderStatus } from './status-view.js';
