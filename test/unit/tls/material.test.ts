import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { connect, createSecureContext, TLSSocket } from 'node:tls';
import { fingerprintOfDer } from '../../../src/protocol/fingerprint';
import { certificateWarnings, loadTlsMaterial, serverTlsOptions, TlsMaterialError } from '../../../src/tls/material';
import { makeCert, opensslFingerprint, opensslNotAfterMs, type TestCert } from '../../helpers/certs';
import { waitFor } from '../../helpers/deadline';
import { closeServer, listenLocal } from '../../helpers/listen';

const DAY_MS = 86_400_000;

/** The error `fn` throws, for looking at its fields; fails if it throws nothing. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}

describe('loadTlsMaterial', () => {
  let cert: TestCert;
  let other: TestCert;
  beforeAll(() => {
    cert = makeCert();
    other = makeCert();
  });
  afterAll(() => {
    cert.cleanup();
    other.cleanup();
  });

  it('reads a matching pair: the fingerprint and notAfter openssl reports, the leaf, and both PEMs as read', () => {
    const m = loadTlsMaterial(cert.certPath, cert.keyPath);
    expect({ fingerprint: m.fingerprint, notAfterMs: m.notAfterMs, subject: m.leaf.subject, cert: m.certPem.toString(), key: m.keyPem?.toString() }).toEqual({
      fingerprint: opensslFingerprint(cert.certPath),
      notAfterMs: opensslNotAfterMs(cert.certPath),
      subject: 'CN=localhost',
      cert: cert.cert,
      key: cert.key,
    });
  });

  it('takes the first certificate of a chain as the leaf', () => {
    const chain = join(cert.dir, 'chain.crt');
    writeFileSync(chain, cert.cert + other.cert);
    const m = loadTlsMaterial(chain, cert.keyPath);
    expect(m.fingerprint).toBe(opensslFingerprint(cert.certPath));
    expect(m.certPem.toString()).toBe(cert.cert + other.cert);
  });

  it('reads a certificate alone when no key is asked for', () => {
    const m = loadTlsMaterial(cert.certPath);
    expect({ fingerprint: m.fingerprint, keyPem: m.keyPem }).toEqual({ fingerprint: opensslFingerprint(cert.certPath), keyPem: undefined });
  });

  it('refuses a key of another certificate, naming the key file and the certificate', () => {
    const error = thrown(() => loadTlsMaterial(cert.certPath, other.keyPath));
    expect(error).toBeInstanceOf(TlsMaterialError);
    expect(error).toMatchObject({ file: other.keyPath, message: `${other.keyPath}: private key does not match the certificate in ${cert.certPath}` });
  });

  it.each([
    ['a private key', (): string => cert.key],
    ['a truncated certificate', (): string => cert.cert.slice(0, 100)],
    ['an empty file', (): string => ''],
    ['text that is not PEM at all', (): string => 'hello\n'],
  ])('refuses %s in place of the certificate as "not a PEM certificate", with the parser error as cause', (_name, content) => {
    const path = join(cert.dir, 'bad.crt');
    writeFileSync(path, content());
    const error = thrown(() => loadTlsMaterial(path, cert.keyPath));
    expect(error).toBeInstanceOf(TlsMaterialError);
    expect(error).toMatchObject({ file: path, message: `${path}: not a PEM certificate (expected a "-----BEGIN CERTIFICATE-----" block)` });
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('refuses a key file that holds no private key as "not a PEM private key"', () => {
    const error = thrown(() => loadTlsMaterial(cert.certPath, cert.certPath));
    expect(error).toMatchObject({ name: 'TlsMaterialError', file: cert.certPath, message: `${cert.certPath}: not a PEM private key` });
  });

  it('says which file is missing or a directory, and what it was meant to be', () => {
    const missing = join(cert.dir, 'missing.crt');
    const directory = join(cert.dir, 'a-directory');
    mkdirSync(directory, { recursive: true });
    const messages = [() => loadTlsMaterial(missing, cert.keyPath), () => loadTlsMaterial(cert.certPath, missing), () => loadTlsMaterial(directory, cert.keyPath)].map(
      (fn) => (thrown(fn) as Error).message,
    );
    expect(messages).toEqual([`${missing}: certificate no such file`, `${missing}: private key no such file`, `${directory}: certificate is a directory`]);
  });
});

describe('serverTlsOptions', () => {
  let cert: TestCert;
  beforeAll(() => {
    cert = makeCert();
  });
  afterAll(() => cert.cleanup());

  it('refuses material without a key', () => {
    expect(() => serverTlsOptions(loadTlsMaterial(cert.certPath))).toThrow('a private key is needed to serve TLS');
  });

  // A SecureContext fixes its protocol versions when a TLS socket is made with it (here,
  // server side, around each accepted loopback connection). Handed over later, from an
  // SNICallback, the versions of the server's first context would apply instead.
  it('serves the certificate on TLS 1.3 to a client, and refuses a client that offers only TLS 1.2', async () => {
    const material = loadTlsMaterial(cert.certPath, cert.keyPath);
    const context = createSecureContext(serverTlsOptions(material));
    const server = createNetServer((raw) => {
      const socket = new TLSSocket(raw, { isServer: true, secureContext: context });
      socket.on('secure', () => socket.end());
      socket.on('error', () => socket.destroy());
    });
    const port = await listenLocal(server);
    /** What a client offering at most `maxVersion` saw: its protocol and the certificate, or its error code. */
    const handshake = (maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<{ protocol: string | null; fingerprint: string } | { error: string | undefined }> => {
      const client = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert.cert, maxVersion });
      return waitFor(`the ${maxVersion} handshake`, (done) => {
        client.once('secureConnect', () => done({ protocol: client.getProtocol(), fingerprint: fingerprintOfDer(client.getPeerCertificate().raw) }));
        client.once('error', (error: NodeJS.ErrnoException) => done({ error: error.code }));
        return () => client.destroy();
      });
    };
    try {
      expect(await handshake('TLSv1.3')).toEqual({ protocol: 'TLSv1.3', fingerprint: material.fingerprint });
      expect(await handshake('TLSv1.2')).toEqual({ error: expect.stringMatching(/ERR_SSL|EPROTO|ECONNRESET/) });
    } finally {
      await closeServer(server);
    }
  });
});

describe('certificateWarnings', () => {
  let ca: TestCert;
  let signed: TestCert;
  let selfSigned: TestCert;
  let shortLived: TestCert;
  beforeAll(() => {
    ca = makeCert({ commonName: 'Test CA', ca: true, name: 'ca' });
    signed = makeCert({ issuer: ca, days: 90 });
    selfSigned = makeCert({ days: 90 });
    shortLived = makeCert({ days: 3 });
  });
  afterAll(() => {
    for (const c of [ca, signed, selfSigned, shortLived]) c.cleanup();
  });

  it('has nothing to say about a CA-signed certificate with months left', () => {
    const m = loadTlsMaterial(signed.certPath, signed.keyPath);
    expect(m.leaf.issuer).toBe('CN=Test CA');
    expect(certificateWarnings(m, Date.now())).toEqual([]);
  });

  it('warns that a self-signed certificate is not for production', () => {
    expect(certificateWarnings(loadTlsMaterial(selfSigned.certPath), Date.now())).toEqual(['the certificate is self-signed: clients will not trust it in production']);
  });

  it('warns within 14 days of the expiry, and once it has passed says when it expired', () => {
    const m = loadTlsMaterial(signed.certPath);
    const expiry = (nowMs: number): string[] => certificateWarnings(m, nowMs).filter((w) => !w.includes('self-signed'));
    expect({
      fifteenDaysBefore: expiry(m.notAfterMs - 15 * DAY_MS),
      thirteenDaysBefore: expiry(m.notAfterMs - 13 * DAY_MS),
      aDayAfter: expiry(m.notAfterMs + DAY_MS),
    }).toEqual({
      fifteenDaysBefore: [],
      thirteenDaysBefore: [`the certificate expires within 14 days (${m.leaf.validTo})`],
      aDayAfter: [`the certificate expired on ${m.leaf.validTo}`],
    });
  });

  it('gives both warnings, self-signed first, for a self-signed certificate made for 3 days', () => {
    const m = loadTlsMaterial(shortLived.certPath);
    expect(certificateWarnings(m, Date.now())).toEqual([
      'the certificate is self-signed: clients will not trust it in production',
      `the certificate expires within 14 days (${m.leaf.validTo})`,
    ]);
  });
});
