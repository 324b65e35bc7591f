import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and key made by openssl for a test, with their paths. */
export interface TestCert {
  readonly dir: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
  /** Removes the files. */
  cleanup(): void;
}

export interface CertOptions {
  /** Common name and DNS subjectAltName. @default "localhost" */
  commonName?: string;
  /** Extra DNS names. */
  altNames?: string[];
  /** Validity in days. @default 30 */
  days?: number;
  /** Directory to write into (default: a fresh temporary one). */
  dir?: string;
  /** File name stem. @default "tls" */
  name?: string;
}

/**
 * Makes a real self-signed EC certificate with openssl (the same tool operators use),
 * valid for `localhost` and 127.0.0.1 unless told otherwise.
 */
export function makeCert(options: CertOptions = {}): TestCert {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'cryptid-cert-'));
  const name = options.name ?? 'tls';
  const cn = options.commonName ?? 'localhost';
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const sans = [cn, ...(options.altNames ?? [])].map((n) => `DNS:${n}`).concat('IP:127.0.0.1').join(',');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', String(options.days ?? 30),
      '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${sans}`,
    ],
    { stdio: 'pipe' },
  );
  return {
    dir,
    certPath,
    keyPath,
    cert: readFileSync(certPath, 'utf8'),
    key: readFileSync(keyPath, 'utf8'),
    cleanup: () => {
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The fingerprint as openssl computes it: `openssl x509 -outform der | sha256sum`. */
export function opensslFingerprint(certPath: string): string {
  const der = execFileSync('openssl', ['x509', '-in', certPath, '-outform', 'der']);
  const hex = execFileSync('sha256sum', { input: der }).toString().split(' ')[0];
  return `sha256:${hex}`;
}
