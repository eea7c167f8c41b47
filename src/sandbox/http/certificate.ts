import { randomBytes } from 'node:crypto';
import { generate } from 'selfsigned';

/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1 and localhost, made at
 * start. The Azure credential and the Graph client refuse plain http (reference entra-graph.md
 * §0.1–0.2), so the Graph emulator serves TLS; clients trust `caPem`, never an insecure flag.
 */
export interface EmulatorCertificate {
  /** The CA certificate clients are told to trust. */
  readonly caPem: string;
  /** The server's certificate, then the CA (a chain), and its private key. */
  readonly cert: string;
  readonly key: string;
}

export async function makeEmulatorCertificate(): Promise<EmulatorCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 7 * 24 * 3600_000);
  // A unique name per CA: a process that trusts two of them (two emulators) would otherwise have
  // OpenSSL pick a CA by subject and check a signature against the wrong key.
  const ca = await generate([{ name: 'commonName', value: `docker-idp-sync sandbox CA ${randomBytes(6).toString('hex')}` }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
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
  return { caPem: ca.cert, cert: `${leaf.cert.trim()}\n${ca.cert.trim()}\n`, key: leaf.private };
}
