import { describeBuilderContract } from './contract.js';
import { createMemoryBuilder } from './memory-builder.js';

describeBuilderContract('in memory', { create: () => createMemoryBuilder(), baseImage: 'labbot/busybox:1' });
