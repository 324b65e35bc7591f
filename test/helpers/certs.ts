import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
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
  /** Signed by this certificate's key instead of self-signed (`openssl req -x509 -CA`). */
  issuer?: TestCert;
  /** A CA certificate (`basicConstraints=critical,CA:TRUE`), to sign others with. @default false */
  ca?: boolean;
}

/**
 * Makes a real EC certificate with openssl (the same tool operators use), self-signed unless
 * `issuer` is given, valid for `localhost` and 127.0.0.1 unless told otherwise.
 */
export function makeCert(options: CertOptions = {}): TestCert {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'cryptid-cert-'));
  const name = options.name ?? 'tls';
  const cn = options.commonName ?? 'localhost';
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const sans = [cn, ...(options.altNames ?? [])]
    .map((n) => `DNS:${n}`)
    .concat('IP:127.0.0.1')
    .join(',');
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
      String(options.days ?? 30),
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=${sans}`,
      ...(options.ca ? ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'] : []),
      ...(options.issuer ? ['-CA', options.issuer.certPath, '-CAkey', options.issuer.keyPath] : []),
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

/** The certificate's notAfter as openssl prints it (`openssl x509 -enddate`), in Unix milliseconds. */
export function opensslNotAfterMs(certPath: string): number {
  const line = execFileSync('openssl', ['x509', '-in', certPath, '-noout', '-enddate'], { encoding: 'utf8' }).trim();
  const ms = Date.parse(line.replace(/^notAfter=/, ''));
  if (Number.isNaN(ms)) throw new Error(`cannot read the date in ${JSON.stringify(line)}`);
  return ms;
}

/** The fingerprint as openssl computes it: `openssl x509 -outform der | sha256sum`. */
export function opensslFingerprint(certPath: string): string {
  const der = execFileSync('openssl', ['x509', '-in', certPath, '-outform', 'der']);
  const hex = execFileSync('sha256sum', { input: der }).toString().split(' ')[0];
  return `sha256:${hex}`;
}

/**
 * A certificate mounted the way the kubelet mounts a Kubernetes TLS Secret: `tls.crt` and
 * `tls.key` are links into `..data`, itself a link to a versioned directory (`..v0`, …).
 */
export interface SecretMount {
  /** The mount directory. */
  readonly dir: string;
  /** `DIR/tls.crt`, what the gateway is configured with. */
  readonly certPath: string;
  /** `DIR/tls.key`. */
  readonly keyPath: string;
  /**
   * Publishes `next` as the kubelet does: a new `..vN` directory, then `..data` swapped to it
   * by one atomic rename, so a reader sees the old pair or the new pair, never a mix.
   */
  swapTo(next: TestCert): void;
}

/** Mounts `first` as a Secret under `dir` (which must not exist yet). */
export function mountSecret(dir: string, first: TestCert): SecretMount {
  let version = 0;
  const publish = (cert: TestCert): string => {
    const name = `..v${version++}`;
    mkdirSync(join(dir, name), { recursive: true });
    copyFileSync(cert.certPath, join(dir, name, 'tls.crt'));
    copyFileSync(cert.keyPath, join(dir, name, 'tls.key'));
    return name;
  };
  symlinkSync(publish(first), join(dir, '..data'));
  symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
  symlinkSync('..data/tls.key', join(dir, 'tls.key'));
  return {
    dir,
    certPath: join(dir, 'tls.crt'),
    keyPath: join(dir, 'tls.key'),
    swapTo: (next) => {
      symlinkSync(publish(next), join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    },
  };
}
