export * from './commands.js';
export * from './create-deployment.js';
export * from './errors.js';
export * from './events.js';
export * from './identity.js';
export * from './kubectl.js';
export * from './lab.js';
export * from './permissions.js';
