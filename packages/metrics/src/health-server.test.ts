import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { serveProcessMetrics } from './health-server.js';
import { createMetrics } from './metrics.js';

function monitored(checks: { name: string; check(): Promise<unknown> }[] = []) {
  const process = {
    closed: 0,
    readinessChecks: checks,
    close: async () => {
      process.closed++;
    },
  };
  return process;
}

describe('serveProcessMetrics', () => {
  it('serves nothing when no port is set', async () => {
    const process = monitored();
    expect(await serveProcessMetrics(process, { metrics: createMetrics({ process: 'runner' }), port: undefined })).toBe(
      undefined,
    );
    expect(process.closed).toBe(0);
  });

  it("answers /readyz from the process's checks", async () => {
    const process = monitored([
      { name: 'redis', check: async () => 'PONG' },
      {
        name: 'docker',
        check: async () => {
          throw new Error('connect ENOENT /var/run/docker.sock');
        },
      },
    ]);
    const served = await serveProcessMetrics(process, {
      metrics: createMetrics({ process: 'discord' }),
      port: 0,
      host: '127.0.0.1',
    });
    try {
      const response = await fetch(`http://127.0.0.1:${served?.server.port()}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({
        status: 'unavailable',
        checks: { redis: 'ok', docker: 'connect ENOENT /var/run/docker.sock' },
      });
    } finally {
      await served?.close();
    }
  });

  it('closes the process and throws when the port is taken, so nothing stays open', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const process = monitored();
    try {
      await expect(
        serveProcessMetrics(process, { metrics: createMetrics({ process: 'slack' }), port, host: '127.0.0.1' }),
      ).rejects.toThrow(/EADDRINUSE/);
      expect(process.closed).toBe(1);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
