import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { LabbotError } from '@labbot/core';
import { generate } from 'selfsigned';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDockerClient, dockerClientOptions } from './docker-engine.js';

/** What docker-modem made of the options: where and how it connects. */
function connection(settings: Parameters<typeof createDockerClient>[0]) {
  const modem = createDockerClient(settings).modem as unknown as Record<string, unknown>;
  return { socketPath: modem.socketPath, host: modem.host, port: modem.port, protocol: modem.protocol };
}

const processEnv = { ...process.env };
afterEach(() => {
  process.env = { ...processEnv };
});

describe('dockerClientOptions', () => {
  it('uses the local socket when no host is given, whatever DOCKER_HOST the process has', () => {
    process.env.DOCKER_HOST = 'tcp://192.0.2.1:2375';
    expect(connection({})).toEqual({
      socketPath: '/var/run/docker.sock',
      host: undefined,
      port: undefined,
      protocol: 'http',
    });
  });

  it('takes the socket of a unix:// host', () => {
    expect(connection({ host: 'unix:///tmp/other.sock' })).toMatchObject({
      socketPath: '/tmp/other.sock',
      host: undefined,
    });
    expect(connection({ host: 'unix://' })).toMatchObject({ socketPath: '/var/run/docker.sock' });
  });

  it('speaks plain HTTP to a tcp:// host, on 2375 by default', () => {
    process.env.DOCKER_TLS_VERIFY = '1';
    expect(connection({ host: 'tcp://127.0.0.1:12375' })).toEqual({
      socketPath: undefined,
      host: '127.0.0.1',
      port: 12375,
      protocol: 'http',
    });
    expect(connection({ host: 'tcp://docker.internal' })).toMatchObject({ host: 'docker.internal', port: 2375 });
  });

  it('reads ca.pem, cert.pem and key.pem from the cert folder and speaks HTTPS, on 2376 by default, when TLS is on', () => {
    const read: string[] = [];
    const options = dockerClientOptions(
      { host: 'tcp://docker.internal', tlsVerify: true, certPath: '/certs' },
      (path) => {
        read.push(path);
        return Buffer.from(`contents of ${path}`);
      },
    );
    expect(read).toEqual(['/certs/ca.pem', '/certs/cert.pem', '/certs/key.pem']);
    expect(options).toMatchObject({
      host: 'docker.internal',
      port: 2376,
      protocol: 'https',
      ca: Buffer.from('contents of /certs/ca.pem'),
      cert: Buffer.from('contents of /certs/cert.pem'),
      key: Buffer.from('contents of /certs/key.pem'),
    });
  });

  it('says which certificate file it cannot read, with a stable code', () => {
    const missing = () =>
      dockerClientOptions({ host: 'tcp://127.0.0.1:2376', tlsVerify: true, certPath: '/no/such/folder' });
    expect(missing).toThrow(LabbotError);
    expect(missing).toThrow('DOCKER_TLS_VERIFY is on but /no/such/folder/ca.pem cannot be read');
  });

  it.each(['ssh://user@host', 'http://127.0.0.1:2375', 'tcp://'])(
    'refuses the host %s with DOCKER_HOST_INVALID',
    (host) => {
      expect(() => dockerClientOptions({ host })).toThrow(
        expect.objectContaining({ code: 'DOCKER_HOST_INVALID', message: expect.stringContaining(host) }),
      );
    },
  );
});

describe('createDockerClient over TLS', () => {
  let server: Server;
  let port: number;
  let certPath: string;
  let otherCertPath: string;
  const clients: string[] = [];

  /** A self-signed certificate for 127.0.0.1, usable by the engine and by its client. */
  async function certificate() {
    const now = Date.now();
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now - 60_000),
      notAfterDate: new Date(now + 24 * 3600_000),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      ],
    });
    return { cert: pems.cert, key: pems.private };
  }

  function certFolder(pems: { cert: string; key: string }) {
    const folder = mkdtempSync(join(tmpdir(), 'labbot-docker-tls-'));
    writeFileSync(join(folder, 'ca.pem'), pems.cert);
    writeFileSync(join(folder, 'cert.pem'), pems.cert);
    writeFileSync(join(folder, 'key.pem'), pems.key);
    return folder;
  }

  beforeAll(async () => {
    const engine = await certificate();
    certPath = certFolder(engine);
    otherCertPath = certFolder(await certificate());
    // Stands in for dockerd --tlsverify: only clients with a certificate of its CA get an answer.
    server = createServer(
      { cert: engine.cert, key: engine.key, ca: engine.cert, requestCert: true, rejectUnauthorized: true },
      (request, response) => {
        clients.push(String((request.socket as TLSSocket).getPeerCertificate().subject?.CN));
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(request.url === '/_ping' ? 'OK' : 'not found');
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    for (const folder of [certPath, otherCertPath]) if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('reaches an engine that checks client certificates, presenting the one in DOCKER_CERT_PATH', async () => {
    const docker = createDockerClient({ host: `tcp://127.0.0.1:${port}`, tlsVerify: true, certPath });
    expect(String(await docker.ping())).toBe('OK');
    expect(clients).toEqual(['127.0.0.1']);
  });

  it("refuses an engine whose certificate is not signed by the folder's CA", async () => {
    const docker = createDockerClient({ host: `tcp://127.0.0.1:${port}`, tlsVerify: true, certPath: otherCertPath });
    await expect(docker.ping()).rejects.toThrow(/self[- ]signed certificate|unable to verify|certificate/i);
  });
});
