import { generate } from 'selfsigned';

/**
 * A fresh self-signed serving certificate for 127.0.0.1 and localhost (EC P-256, one day). kube-sim
 * serves HTTPS only because kubectl, like every client-go program, sends bearer tokens over TLS only.
 */
export async function servingCertificate(): Promise<{ cert: string; key: string }> {
  const now = Date.now();
  const result = await generate([{ name: 'commonName', value: 'kube-sim' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 7 * 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  return { cert: result.cert, key: result.private };
}
