export * from './checks.js';
export * from './loader.js';
export * from './problems.js';
export * from './schema.js';
export * from './template.js';
