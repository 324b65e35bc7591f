import { createServer } from 'node:http';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { fingerprintOfPem } from '../../../src/protocol/fingerprint';
import { makeCert, mountSecret, type TestCert } from '../../helpers/certs';
import { closeServer, listenLocal } from '../../helpers/listen';
import { answerProbe, PROBE_PATH } from '../../helpers/upstream';
import { GatewayProcess } from './gateway-process';
import { kindOf, Load, send, Tally, CLIENT_IDLE_MS } from './load';
import { n, Recorder, type Drill, type DrillSize } from './report';

const SIZES = {
  short: { rotations: 1, concurrency: 10, freshConcurrency: 2, warm: 1_000, freshAfter: 10 },
  full: { rotations: 5, concurrency: 50, freshConcurrency: 4, warm: 20_000, freshAfter: 100 },
};

/** A fresh connection's handshake: when it started (parent clock) and what it was shown. */
interface Handshake {
  startedAt: number;
  fingerprint: string | undefined;
}

/**
 * Drill 5: the sidecar's certificate is rotated (the Kubernetes `..data` symlink swap of a
 * mounted Secret) while keep-alive clients and fresh connections keep going: not one
 * request fails, and every handshake after the swap shows the new certificate.
 */
export const certRotation: Drill = {
  id: 'cert-rotation',
  title: 'Certificate rotation under load',
  async run(size: DrillSize, log = () => undefined) {
    const s = SIZES[size];
    const r = new Recorder(this.id, size, log);
    const certs: TestCert[] = Array.from({ length: s.rotations + 1 }, () => makeCert());
    const secret = mountSecret(join(certs[0]!.dir, 'secret'), certs[0]!);
    const fingerprints = certs.map((c) => fingerprintOfPem(c.cert));
    const ca = certs.map((c) => c.cert);

    const upstream = createServer((req, res) => {
      if (answerProbe(req, res)) return;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const upstreamUrl = `http://127.0.0.1:${await listenLocal(upstream)}`;
    const gw = await GatewayProcess.start({
      mode: 'sidecar',
      options: {
        upstream: upstreamUrl,
        listen: '127.0.0.1:0',
        tls: { cert: secret.certPath, key: secret.keyPath },
        metrics: { listen: false },
        discovery: { document: { server_name: 'chat.example.com' } },
        health: { probe: { path: PROBE_PATH, intervalMs: 60_000 } },
        logLevel: 'silent',
      },
    });
    const agent = new Agent({ keepAlive: true, timeout: CLIENT_IDLE_MS, ca });
    const kept = new Tally();
    const fresh = new Tally();
    const handshakes: Handshake[] = [];
    const documents: string[] = [];
    let keptLoad: Load | undefined;
    let freshLoad: Load | undefined;
    try {
      keptLoad = new Load(s.concurrency, Number.MAX_SAFE_INTEGER, async (i) => {
        const o = await send(`${gw.url}/v1/messages?i=${i}`, { agent, ca, hangAfterMs: 15_000 });
        kept.add(kindOf(o), o.latencyMs);
      });
      freshLoad = new Load(s.freshConcurrency, Number.MAX_SAFE_INTEGER, async (i) => {
        const startedAt = Date.now();
        const o = await send(`${gw.url}/v1/messages?fresh=${i}`, { agent: false, ca, hangAfterMs: 15_000, peerCertificate: true });
        fresh.add(kindOf(o), o.latencyMs);
        handshakes.push({ startedAt, fingerprint: o.peerFingerprint });
      });
      const rotatedAt: number[] = [0];
      for (let k = 1; k <= s.rotations; k++) {
        await keptLoad.untilFinished(keptLoad.finished + s.warm);
        secret.swapTo(certs[k]!);
        const at = await gw.untilCertificate(fingerprints[k]!, 40_000);
        rotatedAt.push(at);
        await freshLoad.untilFinished(freshLoad.finished + s.freshAfter);
        const doc = await send(`${gw.url}/.well-known/cryptid`, { agent: false, ca, hangAfterMs: 15_000 });
        documents.push((JSON.parse(doc.body.toString() || '{}') as { certificate_fingerprint?: string }).certificate_fingerprint ?? `(${kindOf(doc)})`);
        r.note(`rotation ${k}: applied; ${n(keptLoad.finished)} keep-alive requests and ${n(freshLoad.finished)} fresh connections so far`);
      }
      await Promise.all([keptLoad.stop(), freshLoad.stop()]);

      r.check('zero failed requests', kept.count === kept.get('200') && fresh.count === fresh.get('200'), `keep-alive: ${kept}; fresh connections: ${fresh}`);
      // A handshake must show at least the newest certificate applied before it started (one
      // that started just before a rotation may already see the next one: that is fine).
      const wrong = handshakes.filter((h) => {
        let k = 0;
        while (k + 1 < rotatedAt.length && h.startedAt >= rotatedAt[k + 1]!) k++;
        return h.fingerprint === undefined || fingerprints.indexOf(h.fingerprint) < k;
      });
      const afterRotation = handshakes.filter((h) => h.startedAt >= rotatedAt[1]!).length;
      r.check(
        'every handshake after a rotation shows the new certificate',
        wrong.length === 0 && afterRotation > 0,
        `${n(handshakes.length)} handshakes, ${n(afterRotation)} after the first rotation, ${wrong.length} showed an older certificate`,
      );
      r.check(
        'the discovery document publishes the new fingerprint',
        documents.every((fp, i) => fp === fingerprints[i + 1]),
        documents.map((fp, i) => (fp === fingerprints[i + 1] ? `rotation ${i + 1}: new` : `rotation ${i + 1}: ${fp}`)).join(', '),
      );
      r.check('the gateway did not crash', gw.alive, gw.exitDescription);
      r.figure('rotations', String(s.rotations));
      r.figure('requests', `${n(kept.count)} keep-alive, ${n(fresh.count)} on fresh connections`);
      r.figure('failed requests', String(kept.count - kept.get('200') + fresh.count - fresh.get('200')));
    } finally {
      await Promise.all([keptLoad?.stop(), freshLoad?.stop()]);
      agent.destroy();
      await gw.close();
      await closeServer(upstream);
      for (const c of certs) c.cleanup();
    }
    return r.finish();
  },
};
