import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throw-away self-signed certificate for the demo. */
export interface SelfSignedCert {
  readonly certPath: string;
  readonly keyPath: string;
  remove(): void;
}

/**
 * Makes a self-signed P-256 certificate for localhost with openssl, valid 90 days.
 * Node cannot issue X.509 certificates itself, and openssl is what operators use anyway.
 */
export function makeSelfSignedCert(commonName = 'localhost'): SelfSignedCert {
  const dir = mkdtempSync(join(tmpdir(), 'cryptid-gateway-demo-'));
  const certPath = join(dir, 'tls.crt');
  const keyPath = join(dir, 'tls.key');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '90',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        `subjectAltName=DNS:${commonName},IP:127.0.0.1`,
      ],
      { stdio: 'pipe' },
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? 'the demo needs openssl to make its certificate (apt-get install openssl)' : 'openssl could not make the demo certificate', { cause: err });
  }
  return { certPath, keyPath, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
