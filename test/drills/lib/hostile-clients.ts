import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Agent } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { makeCert } from '../../helpers/certs';
import { closeServer, listenLocal } from '../../helpers/listen';
import { answerProbe, PROBE_PATH } from '../../helpers/upstream';
import { GatewayProcess } from './gateway-process';
import { kindOf, Load, send, Tally, CLIENT_IDLE_MS } from './load';
import { hostileExchange, openTls } from './raw-client';
import { n, Recorder, within, type Drill, type DrillSize } from './report';

const SIZES = {
  short: { slowloris: 100, trickleMs: 1000, repeat: 3, concurrency: 10, normal: 1_500, shedWaitMs: 0 },
  // The full run also waits for the listener to shed the slowloris connections itself
  // (node's headersTimeout, 60 s, checked every 30 s).
  full: { slowloris: 1000, trickleMs: 5000, repeat: 50, concurrency: 10, normal: 20_000, shedWaitMs: 100_000 },
};

const SMUGGLED = '/v1/smuggled';
const smuggle = `GET ${SMUGGLED} HTTP/1.1\r\nHost: localhost\r\n\r\n`;

/** Malformed and hostile requests, each sent whole on a connection of its own and left open. */
const HOSTILE: Record<string, () => Buffer> = {
  'garbage bytes': () => Buffer.concat([randomBytes(512), Buffer.from('\r\n\r\n')]),
  'not HTTP at all': () => Buffer.from('HELLO GATEWAY\r\n\r\n'),
  'oversized headers (64 KiB)': () => Buffer.from(`GET /v1/x HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(65536)}\r\n\r\n`),
  'space in a header name': () => Buffer.from('GET /v1/x HTTP/1.1\r\nHost: localhost\r\nBad Header: y\r\n\r\n'),
  'no Host header': () => Buffer.from('GET /v1/x HTTP/1.1\r\n\r\n'),
  'bad chunk size': () => Buffer.from('POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'),
  'chunk size overflow': () => Buffer.from('POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n'),
  'Content-Length and Transfer-Encoding (CL.TE)': () =>
    Buffer.from(`POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${5 + smuggle.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggle}`),
  'Transfer-Encoding and Content-Length (TE.CL)': () =>
    Buffer.from(`POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${(smuggle.length).toString(16)}\r\n${smuggle}\r\n0\r\n\r\n`),
  'obfuscated Transfer-Encoding with Content-Length': () =>
    Buffer.from(`POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${5 + smuggle.length}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggle}`),
  'Transfer-Encoding with a space before the colon': () =>
    Buffer.from(`POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding : chunked\r\nContent-Length: ${5 + smuggle.length}\r\n\r\n0\r\n\r\n${smuggle}`),
  'two different Content-Lengths': () => Buffer.from(`POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: ${5 + smuggle.length}\r\n\r\nhello${smuggle}`),
};

/** A slowloris connection: a request head that never ends, a header line at a time. */
interface Slow {
  socket: TLSSocket;
  status: number;
  closed: boolean;
}

/**
 * Drill 4: slowloris connections and malformed, hostile requests against the sidecar
 * (HTTPS) while normal clients keep going: their rate holds, every hostile request gets a
 * 4xx or a closed socket, nothing is smuggled through.
 */
export const hostileClients: Drill = {
  id: 'hostile-clients',
  title: 'Slow and hostile clients',
  async run(size: DrillSize, log = () => undefined) {
    const s = SIZES[size];
    const r = new Recorder(this.id, size, log);
    const cert = makeCert();
    const paths = new Set<string>();
    const upstream = createServer((req, res) => {
      if (answerProbe(req, res)) return;
      req.resume();
      paths.add((req.url ?? '').split('?')[0] ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const upstreamUrl = `http://127.0.0.1:${await listenLocal(upstream)}`;
    const gw = await GatewayProcess.start({
      mode: 'sidecar',
      options: {
        upstream: upstreamUrl,
        listen: '127.0.0.1:0',
        tls: { cert: cert.certPath, key: cert.keyPath },
        metrics: { listen: false },
        discovery: { document: { server_name: 'chat.example.com' } },
        health: { probe: { path: PROBE_PATH, intervalMs: 60_000 } },
        logLevel: 'silent',
      },
    });
    const agent = new Agent({ keepAlive: true, timeout: CLIENT_IDLE_MS, ca: cert.cert });
    const slow: Slow[] = [];
    let trickle: NodeJS.Timeout | undefined;
    const normal = (): Promise<{ rate: number; tally: Tally }> => {
      const tally = new Tally();
      const load = new Load(s.concurrency, s.normal, async (i) => {
        const o = await send(`${gw.url}/v1/ping?i=${i}`, { agent, ca: [cert.cert], hangAfterMs: 15_000 });
        tally.add(kindOf(o), o.latencyMs);
      });
      return within(120_000, 'normal traffic', load.done).then(() => ({ rate: load.rate, tally }));
    };
    try {
      await normal(); // warm-up: connections, JIT
      const baseline = await normal();
      r.note(`normal traffic alone: ${n(baseline.rate)} requests/s (${baseline.tally})`);

      // Open the slowloris connections (a few at a time) and keep their heads growing.
      for (let i = 0; i < s.slowloris; i += 50) {
        const batch = await Promise.all(Array.from({ length: Math.min(50, s.slowloris - i) }, () => openTls(gw.port, cert.cert)));
        for (const socket of batch) {
          const entry: Slow = { socket, status: 0, closed: false };
          socket.on('data', (chunk: Buffer) => (entry.status ||= Number(/^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 0)));
          socket.on('error', () => undefined);
          socket.once('close', () => (entry.closed = true));
          socket.write('GET /v1/slowloris HTTP/1.1\r\nHost: localhost\r\n');
          slow.push(entry);
        }
      }
      let line = 0;
      trickle = setInterval(() => {
        line++;
        for (const entry of slow) if (!entry.closed) entry.socket.write(`X-Trickle-${line}: ${line}\r\n`);
      }, s.trickleMs);

      // Hostile requests and normal traffic at the same time.
      const cases = Object.entries(HOSTILE).flatMap(([name, bytes]) => Array.from({ length: s.repeat }, () => ({ name, bytes: bytes() })));
      const hostile = (async () => {
        const results: { name: string; status: number; closed: boolean; timedOut: boolean }[] = [];
        for (let i = 0; i < cases.length; i += 10) {
          const batch = cases.slice(i, i + 10);
          results.push(...(await Promise.all(batch.map(async (c) => ({ name: c.name, ...(await hostileExchange(gw.port, cert.cert, c.bytes, 10_000)) })))));
        }
        return results;
      })();
      const [underAttack, answers] = await Promise.all([normal(), hostile]);
      r.note(`normal traffic with ${s.slowloris} slowloris connections and ${cases.length} hostile requests: ${n(underAttack.rate)} requests/s`);

      const bad = answers.filter((a) => !((a.status >= 400 && a.status < 500) || (a.status === 0 && a.closed)));
      const byCase = new Map<string, Set<string>>();
      for (const a of answers) {
        const seen = byCase.get(a.name) ?? new Set<string>();
        seen.add(a.status ? String(a.status) : a.timedOut ? 'no answer in 10 s' : 'closed');
        byCase.set(a.name, seen);
      }
      for (const [name, seen] of byCase) r.note(`${name}: ${[...seen].join(' / ')}`);
      r.check(
        'every hostile request got a 4xx or a closed socket',
        bad.length === 0,
        `${answers.length} hostile requests (${byCase.size} kinds × ${s.repeat})${bad.length ? `; wrong: ${bad.slice(0, 5).map((b) => `${b.name} → ${b.status || (b.timedOut ? 'hang' : 'closed')}`).join('; ')}` : ''}`,
      );
      r.check('nothing smuggled through to the upstream', !paths.has(SMUGGLED), `upstream saw ${[...paths].sort().join(', ')}`);
      const normalOk = baseline.tally.get('200') === s.normal && underAttack.tally.get('200') === s.normal;
      r.check('every normal request served', normalOk, `alone: ${baseline.tally}; under attack: ${underAttack.tally}`);
      r.check(
        'normal throughput holds (at least a quarter of the rate without the attack)',
        underAttack.rate >= baseline.rate / 4,
        `${n(baseline.rate)} → ${n(underAttack.rate)} requests/s (${((underAttack.rate / baseline.rate) * 100).toFixed(0)} %)`,
      );
      const misanswered = slow.filter((e) => e.status !== 0 && (e.status < 400 || e.status >= 500));
      r.check('no slowloris connection got anything but a 4xx', misanswered.length === 0, `${slow.filter((e) => !e.closed).length} of ${slow.length} still open, ${misanswered.length} answered otherwise`);
      if (s.shedWaitMs > 0) {
        const shedStarted = Date.now();
        await within(s.shedWaitMs, 'slowloris shedding', (async () => {
          while (slow.some((e) => !e.closed && e.status === 0)) await new Promise((resolve) => setTimeout(resolve, 500));
        })()).catch(() => undefined);
        const held = slow.filter((e) => !e.closed && e.status === 0).length;
        const statuses = new Tally();
        for (const e of slow) statuses.add(e.status ? String(e.status) : e.closed ? 'closed' : 'open', 0);
        r.check('the listener sheds slowloris connections by itself (408 or close)', held === 0, `after ${Math.round((Date.now() - shedStarted) / 1000)} s: ${statuses}`);
      }
      r.check('the gateway did not crash', gw.alive, gw.exitDescription);
      r.figure('normal requests/s alone', n(baseline.rate));
      r.figure('normal requests/s under attack', `${n(underAttack.rate)} (${((underAttack.rate / baseline.rate) * 100).toFixed(0)} %)`);
      r.figure('slowloris connections', n(s.slowloris));
      r.figure('hostile requests', `${answers.length}: ${answers.filter((a) => a.status >= 400).length} × 4xx, ${answers.filter((a) => a.status === 0).length} × closed`);
    } finally {
      clearInterval(trickle);
      for (const entry of slow) entry.socket.destroy();
      agent.destroy();
      await gw.close();
      await closeServer(upstream);
      cert.cleanup();
    }
    return r.finish();
  },
};
