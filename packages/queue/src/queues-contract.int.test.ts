import { Redis } from 'ioredis';
import { createQueues, type Queues } from './producers.js';
import { describeQueuesContract } from './testing/contract.js';
import { deleteKeys, redisUrl, uniquePrefix } from './testing/helpers.js';

const prefix = uniquePrefix('queues-contract');
let redis: Redis | undefined;
let queues: Queues | undefined;

describeQueuesContract('BullMQ on Redis', {
  create: () => {
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    queues = createQueues({ connection: redis, prefix });
    return queues;
  },
  cleanup: async () => {
    await queues?.close();
    if (redis) {
      await deleteKeys(redis, prefix);
      await redis.quit();
    }
  },
});
