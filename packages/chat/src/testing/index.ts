export { type ChatContractFactory, type ChatContractHarness, describeChatAdapterContract } from './contract.js';
