import Docker from 'dockerode';
import { createBuilder } from './builder.js';
import { describeBuilderContract } from './testing/contract.js';

const docker = new Docker();

describeBuilderContract('Docker', {
  create: () => createBuilder({ docker, labels: { 'labbot.test': '1' } }),
  baseImage: process.env.LABBOT_BASE_IMAGE ?? 'labbot/busybox:1',
  cleanup: async (tags) => {
    for (const tag of tags)
      await docker
        .getImage(tag)
        .remove({ force: true })
        .catch(() => undefined);
  },
});
