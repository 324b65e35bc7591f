import { createHash, X509Certificate } from 'node:crypto';

/**
 * The protocol's certificate fingerprint: `sha256:` + lower-case hex of SHA-256 over the
 * certificate's DER encoding (server-discovery page, "Calculating fingerprint").
 */
export function fingerprintOfDer(der: Uint8Array): string {
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

/** Fingerprint of the first (leaf) certificate in a PEM bundle. Throws if there is none. */
export function fingerprintOfPem(pem: string | Buffer): string {
  return fingerprintOfDer(new X509Certificate(leafPem(pem)).raw);
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** The first certificate block of a PEM bundle: by convention the leaf (RFC 8446 §4.4.2). */
export function leafPem(pem: string | Buffer): string {
  const match = PEM_BLOCK.exec(pem.toString());
  if (!match) throw new Error('no PEM certificate found');
  return match[0];
}
