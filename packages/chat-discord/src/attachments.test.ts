import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachmentError, fetchAttachments } from './attachments.js';
import { commandText } from './lab-command.js';

let server: Server;
let host = '';
let requests = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    requests += 1;
    response.end(request.url?.endsWith('/Dockerfile.txt') ? 'FROM labbot/busybox:1\n' : 'echo hi\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const buildOptions = (url: (name: string) => string, size = 20) => [
  {
    name: 'build',
    type: 1,
    options: [
      {
        name: 'dockerfile',
        type: 11,
        value: '111',
        attachment: { name: 'Dockerfile.txt', url: url('Dockerfile.txt'), size },
      },
      { name: 'file1', type: 11, value: '222', attachment: { name: 'hello.sh', url: url('hello.sh'), size } },
    ],
  },
];

describe('/lab build attachments on Discord', () => {
  it('are files, not words: the command text is just "build"', () => {
    expect(commandText(buildOptions((name) => `https://cdn.discordapp.com/a/${name}`))).toBe('build');
  });

  it('are downloaded from the allowed host; the dockerfile option becomes "Dockerfile"', async () => {
    const files = await fetchAttachments(
      buildOptions((name) => `http://${host}/attachments/1/${name}`),
      { allowedHosts: [host] },
    );
    expect(files.map((file) => [file.path, Buffer.from(file.content).toString()])).toEqual([
      ['Dockerfile', 'FROM labbot/busybox:1\n'],
      ['hello.sh', 'echo hi\n'],
    ]);
  });

  it('are never fetched from another host, nor when too big', async () => {
    const before = requests;
    await expect(fetchAttachments(buildOptions((name) => `http://${host}/attachments/1/${name}`))).rejects.toThrow(
      AttachmentError,
    );
    await expect(
      fetchAttachments(
        buildOptions((name) => `http://${host}/x/${name}`, 2 * 1024 * 1024),
        { allowedHosts: [host] },
      ),
    ).rejects.toThrow(/a lab build takes at most 1024 KiB/);
    expect(requests).toBe(before);
  });
});
