export { type ChatApp, type ChatAppOptions, startChatApp } from './chat-app.js';
export { type ChatService, type ChatServiceOptions, startChatService } from './chat-service.js';
export {
  type BoardOptions,
  boardCounts,
  type ClassSnapshot,
  classCsv,
  foldedLearnerList,
  type LearnerRow,
  learnerRows,
  renderClassBoard,
  renderClassStatus,
} from './class-board.js';
export {
  boardKeyOf,
  type ClassBot,
  type ClassBotOptions,
  type ClassSources,
  channelThreadIdOf,
  classExportCsv,
  classSnapshot,
  createClassBot,
} from './class-bot.js';
export { createLabBot, type LabBot, type LabBotOptions } from './lab-bot.js';
export { BUILD_FILES_REQUEST, buildResultMessage, manifestMessage } from './learner-build.js';
export { age, podRows, podStatus, renderStatus, type StatusViewOptions } from './status-view.js';
