import { once } from 'node:events';
import { copyFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import semver from 'semver';
import { startServer, type RunningServer } from '../../src';
import { fingerprintOfDer } from '../../src/protocol/fingerprint';
import { KEY_EXCHANGE_GROUPS } from '../../src/tls/groups';
import { makeCert, mountSecret, opensslFingerprint, type TestCert } from '../helpers/certs';
import { testRequest } from '../helpers/http-request';
import { captureLog } from '../helpers/log-capture';
import { startHealthyUpstream, untilStatus, type HealthyUpstream } from '../helpers/healthy-upstream';

let upstream: HealthyUpstream;
beforeAll(async () => {
  upstream = await startHealthyUpstream();
});
afterAll(() => upstream.close());

async function startOn(certPath: string, keyPath: string, logger = captureLog().logger): Promise<RunningServer> {
  const running = await startServer({
    upstream: upstream.url,
    listen: '127.0.0.1:0',
    tls: { cert: certPath, key: keyPath },
    metrics: { listen: false },
    discovery: { document: { server_name: 'chat.example.test' } },
    shutdown: { drainDelayMs: 0, timeoutMs: 1000 },
    logger,
  });
  await untilStatus(running.gateway, 'healthy');
  return running;
}

describe('the HTTPS sidecar', () => {
  let cert: TestCert;
  let running: RunningServer;

  beforeAll(async () => {
    cert = makeCert();
    running = await startOn(cert.certPath, cert.keyPath);
  });
  afterAll(async () => {
    await running.close();
    cert.cleanup();
  });

  it('publishes the fingerprint of the certificate a TLS client is actually shown', async () => {
    const res = await testRequest(`${running.url}/.well-known/cryptid`, { ca: cert.cert });
    expect(res.status).toBe(200);
    const published = (res.json as { certificate_fingerprint: string }).certificate_fingerprint;
    expect(published).toBe(fingerprintOfDer(res.peerCertificateRaw!));
    expect(published).toBe(opensslFingerprint(cert.certPath));
  });

  it('speaks TLS 1.3', async () => {
    const socket = connect({ host: '127.0.0.1', port: running.port, servername: 'localhost', ca: cert.cert });
    await once(socket, 'secureConnect');
    expect(socket.getProtocol()).toBe('TLSv1.3');
    socket.destroy();
  });

  it('refuses a client that offers only TLS 1.2', async () => {
    const socket = connect({ host: '127.0.0.1', port: running.port, servername: 'localhost', ca: cert.cert, maxVersion: 'TLSv1.2' });
    const [err] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toMatch(/ERR_SSL|EPROTO|ECONNRESET/);
    socket.destroy();
  });

  it.each(['X25519', 'P-256', 'P-384'])('agrees on the %s key exchange', async (group) => {
    const socket = connect({ host: '127.0.0.1', port: running.port, servername: 'localhost', ca: cert.cert, ecdhCurve: group });
    await once(socket, 'secureConnect');
    expect(socket.getEphemeralKeyInfo()).toMatchObject({ type: 'ECDH' });
    socket.destroy();
  });

  it.each(['ffdhe2048', 'ffdhe3072'])('refuses a client that offers only the finite-field group %s', async (group) => {
    const socket = connect({ host: '127.0.0.1', port: running.port, servername: 'localhost', ca: cert.cert, ecdhCurve: group });
    // `once` rejects with the 'error' it sees first: the handshake failure, when refused.
    const outcome = await once(socket, 'secureConnect').then(
      () => 'connected',
      (err: NodeJS.ErrnoException) => String(err.code),
    );
    socket.destroy();
    expect(outcome).toMatch(/ERR_SSL|EPROTO|ECONNRESET/);
  });

  // Node 22 and 24 carry OpenSSL 3.5, which has the hybrid group; Node 20's OpenSSL 3.0
  // does not, and there the listener must offer the classical groups alone.
  const openssl = process.versions.openssl;
  const hybridGroupInOpenssl = semver.gte(semver.coerce(openssl) ?? '0.0.0', '3.5.0');
  it(`agrees on the hybrid post-quantum X25519MLKEM768 when this runtime's OpenSSL (${openssl}) has it`, async () => {
    if (!hybridGroupInOpenssl) {
      expect(KEY_EXCHANGE_GROUPS).toBe('X25519:P-256:P-384');
      return;
    }
    expect(KEY_EXCHANGE_GROUPS).toBe('X25519MLKEM768:X25519:P-256:P-384');
    const socket = connect({ host: '127.0.0.1', port: running.port, servername: 'localhost', ca: cert.cert, ecdhCurve: 'X25519MLKEM768' });
    await once(socket, 'secureConnect');
    expect(socket.getProtocol()).toBe('TLSv1.3');
    socket.destroy();
  });

  it('has no plain-HTTP listener: HTTP on the port gets no HTTP answer', async () => {
    await expect(testRequest(`http://127.0.0.1:${running.port}/.well-known/cryptid`)).rejects.toThrow();
  });
});

describe('certificate rotation', () => {
  it('follows a plain overwrite: new handshakes and the document change together, open connections stay', async () => {
    const first = makeCert();
    const second = makeCert();
    const running = await startOn(first.certPath, first.keyPath);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: [first.cert, second.cert] });
    try {
      const before = await keepAliveGet(running, agent);
      expect(before.fingerprint).toBe(opensslFingerprint(first.certPath));

      const rotated = once(running, 'certificate');
      copyFileSync(second.keyPath, first.keyPath);
      copyFileSync(second.certPath, first.certPath);
      await rotated;

      // The kept-alive connection still works, on its original certificate.
      const onOld = await keepAliveGet(running, agent);
      expect(onOld.reused).toBe(true);
      expect(onOld.peer).toBe(before.peer);
      expect(onOld.fingerprint).toBe(opensslFingerprint(second.certPath));

      const fresh = await testRequest(`${running.url}/.well-known/cryptid`, { ca: second.cert });
      expect(fingerprintOfDer(fresh.peerCertificateRaw!)).toBe(opensslFingerprint(second.certPath));
      expect((fresh.json as { certificate_fingerprint: string }).certificate_fingerprint).toBe(opensslFingerprint(second.certPath));
    } finally {
      agent.destroy();
      await running.close();
      first.cleanup();
      second.cleanup();
    }
  });

  it('follows the Kubernetes symlink swap of a mounted Secret', async () => {
    const mount = makeCert();
    const next = makeCert();
    const secret = mountSecret(join(mount.dir, 'secret'), mount);
    const running = await startOn(secret.certPath, secret.keyPath);
    try {
      expect(running.certificate.fingerprint).toBe(opensslFingerprint(mount.certPath));
      const rotated = once(running, 'certificate');
      secret.swapTo(next);
      await rotated;
      const res = await testRequest(`${running.url}/.well-known/cryptid`, { ca: next.cert });
      expect(fingerprintOfDer(res.peerCertificateRaw!)).toBe(opensslFingerprint(next.certPath));
      expect(running.gateway.document?.certificate_fingerprint).toBe(opensslFingerprint(next.certPath));
    } finally {
      await running.close();
      mount.cleanup();
      next.cleanup();
    }
  });

  it('refuses a half-written or mismatched pair with a logged error and keeps serving the old one', async () => {
    const first = makeCert();
    const other = makeCert();
    const log = captureLog();
    const running = await startOn(first.certPath, first.keyPath, log.logger);
    try {
      const refused = once(running, 'certificateError');
      writeFileSync(first.certPath, other.cert.slice(0, 100));
      const [err] = (await refused) as [Error];
      expect(err.message).toMatch(/not a PEM certificate/);
      expect(log.lines.some((l) => l.event === 'tls_reload_failed')).toBe(true);

      const mismatch = once(running, 'certificateError');
      writeFileSync(first.certPath, other.cert);
      const [err2] = (await mismatch) as [Error];
      expect(err2.message).toMatch(/does not match/);

      const res = await testRequest(`${running.url}/.well-known/cryptid`, { ca: first.cert });
      expect(fingerprintOfDer(res.peerCertificateRaw!)).toBe(running.certificate.fingerprint);
      expect((res.json as { certificate_fingerprint: string }).certificate_fingerprint).toBe(running.certificate.fingerprint);
      expect(running.certificate.leaf.subject).toBe('CN=localhost');
    } finally {
      await running.close();
      first.cleanup();
      other.cleanup();
    }
  });

  it('warns at start that a self-signed certificate expiring soon is not for production', async () => {
    const cert = makeCert({ days: 3 });
    const log = captureLog();
    const running = await startOn(cert.certPath, cert.keyPath, log.logger);
    try {
      const warnings = log.lines.filter((l) => l.event === 'tls_warning').map((l) => String(l.msg));
      expect(warnings).toEqual([expect.stringMatching(/self-signed/), expect.stringMatching(/expires within 14 days/)]);
    } finally {
      await running.close();
      cert.cleanup();
    }
  });
});

/** GET over a kept-alive agent; tells whether the socket was reused and which certificate it shows. */
function keepAliveGet(running: RunningServer, agent: Agent): Promise<{ reused: boolean; peer: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${running.url}/.well-known/cryptid`, { agent, servername: 'localhost' }, (res) => {
      const peer = fingerprintOfDer((res.socket as TLSSocket).getPeerCertificate().raw);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        try {
          const doc = JSON.parse(Buffer.concat(chunks).toString()) as { certificate_fingerprint: string };
          resolve({ reused: req.reusedSocket, peer, fingerprint: doc.certificate_fingerprint });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}
