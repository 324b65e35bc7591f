import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fingerprintOfDer, leafPem } from '../protocol/fingerprint';
import { KEY_EXCHANGE_GROUPS } from './groups';

/** A certificate (and, for serving, its key) read from disk and checked. */
export interface TlsMaterial {
  /** PEM of the whole chain as read. */
  readonly certPem: Buffer;
  /** PEM of the private key, when a key path was given. */
  readonly keyPem: Buffer | undefined;
  /** The leaf certificate. */
  readonly leaf: X509Certificate;
  /** `sha256:…` of the leaf's DER. */
  readonly fingerprint: string;
  /** Expiry of the leaf, Unix milliseconds. */
  readonly notAfterMs: number;
}

/** Why a certificate or key could not be used; `file` names the culprit. */
export class TlsMaterialError extends Error {
  override readonly name = 'TlsMaterialError';
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

/**
 * Reads and checks a certificate and optional key: readable, PEM, a certificate first,
 * and a key that matches it. Throws `TlsMaterialError` naming the file at fault.
 */
export function loadTlsMaterial(certPath: string, keyPath?: string): TlsMaterial {
  const certPem = readOrThrow(certPath, 'certificate');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem(certPem));
  } catch (err) {
    throw new TlsMaterialError(certPath, 'not a PEM certificate (expected a "-----BEGIN CERTIFICATE-----" block)', { cause: err });
  }
  let keyPem: Buffer | undefined;
  if (keyPath !== undefined) {
    keyPem = readOrThrow(keyPath, 'private key');
    let matches: boolean;
    try {
      matches = leaf.checkPrivateKey(createPrivateKey(keyPem));
    } catch (err) {
      throw new TlsMaterialError(keyPath, 'not a PEM private key', { cause: err });
    }
    if (!matches) throw new TlsMaterialError(keyPath, `private key does not match the certificate in ${certPath}`);
  }
  return { certPem, keyPem, leaf, fingerprint: fingerprintOfDer(leaf.raw), notAfterMs: Date.parse(leaf.validTo) };
}

/** The listener's TLS settings for the material: TLS 1.3 only (the discovery page asks for TLS 1.3+). */
export function serverTlsOptions(material: TlsMaterial): { cert: Buffer; key: Buffer; minVersion: 'TLSv1.3'; ecdhCurve: string } {
  if (!material.keyPem) throw new Error('a private key is needed to serve TLS');
  return { cert: material.certPem, key: material.keyPem, minVersion: 'TLSv1.3', ecdhCurve: KEY_EXCHANGE_GROUPS };
}

/** Warnings an operator should see at start and on reload (no self-signed certificates in production). */
export function certificateWarnings(material: TlsMaterial, nowMs: number): string[] {
  const warnings: string[] = [];
  const { leaf } = material;
  if (leaf.issuer === leaf.subject && leaf.verify(leaf.publicKey)) {
    warnings.push('the certificate is self-signed: clients will not trust it in production');
  }
  const daysLeft = (material.notAfterMs - nowMs) / 86_400_000;
  if (daysLeft < 0) warnings.push(`the certificate expired on ${leaf.validTo}`);
  else if (daysLeft < 14) warnings.push(`the certificate expires within 14 days (${leaf.validTo})`);
  return warnings;
}

function readOrThrow(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : 'cannot be read';
    throw new TlsMaterialError(path, `${what} ${reason}`, { cause: err });
  }
}
