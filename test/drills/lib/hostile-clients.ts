import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { makeCert } from '../../helpers/certs';
import { closeServer, listenLocal } from '../../helpers/listen';
import { answerProbe, PROBE_PATH } from '../../helpers/upstream';
import { GatewayProcess } from './gateway-process';
import type { GatewayStats } from './gateway-protocol';
import { leakCheck } from './leak-check';
import { kindOf, Load, send, Tally, CLIENT_IDLE_MS } from './load';
import { hostileExchange, openTls } from './raw-client';
import { mib, n, Recorder, within, type Drill, type DrillSize } from './report';

const SIZES = {
  short: {
    slowloris: 100,
    trickleMs: 1000,
    repeat: 3,
    concurrency: 10,
    normal: 1_500,
    shedWaitMs: 0,
    pipeliners: 40,
    pipelineDepth: 4,
    slowReaders: 20,
    slowUploads: 40,
    slowForMs: 1500,
    maxConnections: 64,
    rounds: 1,
  },
  // The full run also waits for the listener to shed the slowloris connections itself
  // (node's headersTimeout, 60 s, checked every 30 s).
  full: {
    slowloris: 1000,
    trickleMs: 5000,
    repeat: 20,
    concurrency: 10,
    normal: 20_000,
    shedWaitMs: 100_000,
    pipeliners: 200,
    pipelineDepth: 4,
    slowReaders: 100,
    slowUploads: 200,
    slowForMs: 3000,
    maxConnections: 256,
    rounds: 3,
  },
};

/** The contract: what a vanished client caused is released within this long. */
const RELEASE_MS = 1000;
/**
 * The sizes of `/v1/big` answers: more than loopback socket buffers hold (several MiB
 * between the gateway's send buffer and the client's receive buffer), so a client that
 * does not read, or reads slowly, keeps its answer in progress at the upstream.
 */
const BIG_BYTES = 4 * 1024 * 1024;
const SLOW_READ_BYTES = 32 * 1024 * 1024;
/** The declared size of a slow upload (only a trickle of it is ever sent). */
const UPLOAD_BYTES = 1024 * 1024;

const SMUGGLED = '/v1/smuggled';
const smuggle = `GET ${SMUGGLED} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
const HOST = 'Host: localhost\r\n';
const upgrade = (target: string): string =>
  `GET ${target} HTTP/1.1\r\n${HOST}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** A malformed or hostile request and the answers it may get (empty: any 4xx, or a closed socket). */
interface HostileCase {
  readonly bytes: () => Buffer;
  readonly expect?: readonly number[];
}

const text = (s: string) => () => Buffer.from(s, 'latin1');

/** Malformed and hostile requests, each sent whole on a connection of its own and left open. */
const HOSTILE: Record<string, HostileCase> = {
  'garbage bytes': { bytes: () => Buffer.concat([randomBytes(512), Buffer.from('\r\n\r\n')]) },
  'not HTTP at all': { bytes: text('HELLO GATEWAY\r\n\r\n') },
  'oversized headers (64 KiB)': { bytes: text(`GET /v1/x HTTP/1.1\r\n${HOST}X-Big: ${'a'.repeat(65536)}\r\n\r\n`) },
  'space in a header name': { bytes: text(`GET /v1/x HTTP/1.1\r\n${HOST}Bad Header: y\r\n\r\n`) },
  'no Host header': { bytes: text('GET /v1/x HTTP/1.1\r\n\r\n'), expect: [400] },
  'two Host headers': { bytes: text(`GET /v1/two-hosts HTTP/1.1\r\n${HOST}Host: evil.example\r\n\r\n`), expect: [400] },
  'a space in Host': { bytes: text('GET /v1/x HTTP/1.1\r\nHost: a b\r\n\r\n'), expect: [400] },
  'userinfo in Host': { bytes: text('GET /v1/x HTTP/1.1\r\nHost: x@evil.example\r\n\r\n'), expect: [400] },
  'a comma in Host': { bytes: text('GET /v1/x HTTP/1.1\r\nHost: a, evil.example\r\n\r\n'), expect: [400] },
  'an empty Host': { bytes: text('GET /v1/x HTTP/1.1\r\nHost:\r\n\r\n'), expect: [400] },
  'Connection naming Host': { bytes: text(`GET /v1/x HTTP/1.1\r\n${HOST}Connection: host\r\n\r\n`), expect: [400] },
  'absolute-form target for another host': { bytes: text(`GET http://evil.example/v1/x HTTP/1.1\r\n${HOST}\r\n`), expect: [400] },
  TRACE: { bytes: text(`TRACE /v1/x HTTP/1.1\r\n${HOST}\r\n`), expect: [405] },
  CONNECT: { bytes: text('CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n'), expect: [405] },
  'Transfer-Encoding: gzip, chunked': { bytes: text(`POST /v1/messages HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`), expect: [501] },
  '/federation;a/v1/x (federation off)': { bytes: text(`GET /federation;a/v1/x HTTP/1.1\r\n${HOST}\r\n`), expect: [403] },
  '/federation%20/v1 (federation off)': { bytes: text(`GET /federation%20/v1 HTTP/1.1\r\n${HOST}\r\n`), expect: [403] },
  '/federation%00/v1': { bytes: text(`GET /federation%00/v1 HTTP/1.1\r\n${HOST}\r\n`), expect: [400] },
  '/federation%09/v1': { bytes: text(`GET /federation%09/v1 HTTP/1.1\r\n${HOST}\r\n`), expect: [400] },
  'WebSocket upgrade to /federation;x/v1/stream': { bytes: text(upgrade('/federation;x/v1/stream')), expect: [403] },
  'bad chunk size': { bytes: text(`POST /v1/messages HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`) },
  'chunk size overflow': { bytes: text(`POST /v1/messages HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n`) },
  'Content-Length and Transfer-Encoding (CL.TE)': {
    bytes: text(`POST /v1/messages HTTP/1.1\r\n${HOST}Content-Length: ${5 + smuggle.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggle}`),
  },
  'Transfer-Encoding and Content-Length (TE.CL)': {
    bytes: text(`POST /v1/messages HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${smuggle.length.toString(16)}\r\n${smuggle}\r\n0\r\n\r\n`),
  },
  'obfuscated Transfer-Encoding with Content-Length': {
    bytes: text(`POST /v1/messages HTTP/1.1\r\n${HOST}Content-Length: ${5 + smuggle.length}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggle}`),
  },
  'Transfer-Encoding with a space before the colon': {
    bytes: text(`POST /v1/messages HTTP/1.1\r\n${HOST}Transfer-Encoding : chunked\r\nContent-Length: ${5 + smuggle.length}\r\n\r\n0\r\n\r\n${smuggle}`),
  },
  'two different Content-Lengths': { bytes: text(`POST /v1/messages HTTP/1.1\r\n${HOST}Content-Length: 5\r\nContent-Length: ${5 + smuggle.length}\r\n\r\nhello${smuggle}`) },
};

/** Bytes that must reach the upstream exactly as sent: obs-text in a header value. */
const OBS_TEXT = Buffer.from([0x61, 0xe9, 0xff, 0x62]);
/** A client's own X-Forwarded-For, named in Connection: it must not reach the upstream. */
const SPOOFED_XFF = '203.0.113.66';

/** Requests the gateway forwards, with something the upstream must (or must not) see: checked as "nothing altered". */
const FAITHFUL: Record<string, () => Buffer> = {
  'obs-text header value': () => Buffer.concat([Buffer.from(`GET /v1/echo-bytes HTTP/1.1\r\n${HOST}X-Bytes: `), OBS_TEXT, Buffer.from('\r\n\r\n')]),
  'absolute-form target for this host': text(`GET http://localhost/v1/absolute?q=1 HTTP/1.1\r\n${HOST}\r\n`),
  'X-Forwarded-For named in Connection': text(`GET /v1/xff HTTP/1.1\r\n${HOST}Connection: keep-alive, X-Forwarded-For\r\nX-Forwarded-For: ${SPOOFED_XFF}\r\n\r\n`),
};

/** A slowloris connection: a request head that never ends, a header line at a time. */
interface Slow {
  socket: TLSSocket;
  status: number;
  closed: boolean;
}

/** What the drill's upstream saw, for the checks. */
class UpstreamLog {
  readonly paths = new Set<string>();
  readonly methods = new Set<string>();
  readonly hosts = new Set<string>();
  readonly targets = new Set<string>();
  readonly xff = new Set<string>();
  obsText: Buffer | undefined;
  /** Hostile requests (big answers, uploads) whose upstream response is not closed yet, by kind. */
  readonly inProgress = new Map<string, Set<ServerResponse>>();
  /** How many requests of each hostile kind reached the upstream. */
  readonly arrived = new Map<string, number>();
  open = 0;
  maxOpen = 0;
  private waiters: (() => void)[] = [];

  track(kind: string, res: ServerResponse): void {
    const set = this.inProgress.get(kind) ?? new Set<ServerResponse>();
    this.inProgress.set(kind, set);
    set.add(res);
    this.arrived.set(kind, (this.arrived.get(kind) ?? 0) + 1);
    res.once('close', () => {
      set.delete(res);
      this.wake();
    });
    this.wake();
  }

  inFlight(kind: string): number {
    return this.inProgress.get(kind)?.size ?? 0;
  }

  /** Resolves once `condition` holds, re-checked at every arrival and every closed response. */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Streams `size` bytes in 64 KiB writes, honouring backpressure: the upstream never buffers a whole answer. */
function streamBig(res: ServerResponse, size: number): void {
  const chunk = Buffer.alloc(65536, 0x62);
  let sent = 0;
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  const pump = (): void => {
    while (sent < size && !res.destroyed) {
      sent += chunk.length;
      if (sent >= size) {
        res.end(chunk);
        return;
      }
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

/**
 * Drill 4: slow, vanishing and hostile clients against the sidecar (HTTPS) while normal
 * clients keep going. Slowloris connections and malformed, hostile requests (smuggling,
 * bad Hosts, framing, targets, methods, federation-guard bypasses); clients that pipeline
 * requests for big answers, never read and vanish; slow readers and slow uploads that
 * vanish mid-way. Every hostile request is answered 4xx/5xx or closed, nothing is
 * smuggled or altered, everything a vanished client caused is released within 1 s, the
 * upstream connections stay under `proxy.maxConnections`, descriptors end flat, and
 * normal traffic is all served throughout.
 */
export const hostileClients: Drill = {
  id: 'hostile-clients',
  title: 'Slow, vanishing and hostile clients',
  async run(size: DrillSize, log = () => undefined) {
    const s = SIZES[size];
    const r = new Recorder(this.id, size, log);
    const cert = makeCert();
    const seen = new UpstreamLog();
    const upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (answerProbe(req, res)) return;
      const url = req.url ?? '';
      const path = url.split('?')[0] ?? '';
      seen.paths.add(path);
      seen.targets.add(url.startsWith('/') ? '/' : url);
      seen.methods.add(req.method ?? '');
      seen.hosts.add(req.headers.host ?? '');
      for (const value of [req.headers['x-forwarded-for'] ?? []].flat()) for (const a of value.split(',')) seen.xff.add(a.trim());
      if (path === '/v1/echo-bytes') {
        const i = req.rawHeaders.findIndex((h, k) => k % 2 === 0 && h.toLowerCase() === 'x-bytes');
        if (i !== -1) seen.obsText = Buffer.from(req.rawHeaders[i + 1] ?? '', 'latin1');
      }
      if (path === '/v1/big') {
        const reader = req.headers['x-kind'] === 'reader';
        seen.track(reader ? 'reader' : 'pipelined', res);
        req.resume();
        streamBig(res, reader ? SLOW_READ_BYTES : BIG_BYTES);
        return;
      }
      if (path === '/v1/upload') {
        seen.track('upload', res);
        req.on('data', () => undefined);
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
        req.on('error', () => undefined);
        return;
      }
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    upstream.on('connection', (socket: Socket) => {
      seen.open++;
      seen.maxOpen = Math.max(seen.maxOpen, seen.open);
      socket.once('close', () => seen.open--);
    });
    const upstreamUrl = `http://127.0.0.1:${await listenLocal(upstream)}`;
    const gw = await GatewayProcess.start({
      mode: 'sidecar',
      options: {
        upstream: upstreamUrl,
        listen: '127.0.0.1:0',
        tls: { cert: cert.certPath, key: cert.keyPath },
        metrics: { listen: false },
        discovery: { document: { server_name: 'chat.example.com', federation_enabled: false } },
        health: { probe: { path: PROBE_PATH, intervalMs: 60_000 } },
        proxy: { maxConnections: s.maxConnections },
        logLevel: 'silent',
      },
    });
    const agent = new Agent({ keepAlive: true, timeout: CLIENT_IDLE_MS, ca: cert.cert });
    const slow: Slow[] = [];
    const vanishing = new Set<TLSSocket>();
    let trickle: NodeJS.Timeout | undefined;
    let peakFds = 0;
    let peakInUse = 0;
    /** Normal clients: `total` requests, or until `stop()` (then at most `total`). */
    const normalLoad = (total: number): { done: Promise<{ rate: number; tally: Tally }>; stop(): void } => {
      const tally = new Tally();
      const load = new Load(s.concurrency, total, async (i) => {
        const o = await send(`${gw.url}/v1/ping?i=${i}`, { agent, ca: [cert.cert], hangAfterMs: 15_000 });
        tally.add(kindOf(o), o.latencyMs);
      });
      return { done: within(180_000, 'normal traffic', load.done).then(() => ({ rate: load.rate, tally })), stop: () => void load.stop() };
    };
    const normal = (): Promise<{ rate: number; tally: Tally }> => normalLoad(s.normal).done;
    const sample = async (): Promise<GatewayStats> => {
      const stats = await gw.stats(true);
      peakFds = Math.max(peakFds, stats.fds);
      peakInUse = Math.max(peakInUse, stats.upstreamInUse);
      return stats;
    };

    /**
     * Waits for the hostile requests of `kind` to be in progress at the upstream, makes their
     * clients vanish, and checks that the upstream requests are all closed and the pool's
     * in-use sockets back to what normal traffic alone holds, within 1 s.
     */
    const vanish = async (kind: string, clients: TLSSocket[], expected: number, what: string): Promise<void> => {
      await within(
        30_000,
        `${what} at the upstream`,
        seen.until(() => (seen.arrived.get(kind) ?? 0) >= expected),
      ).catch(() => undefined);
      const during = await sample();
      const inFlight = seen.inFlight(kind);
      for (const socket of clients) socket.destroy();
      const gone = Date.now();
      const released = await within(
        RELEASE_MS,
        `${what} released`,
        seen.until(() => seen.inFlight(kind) === 0),
      ).then(
        () => true,
        () => false,
      );
      const left = seen.inFlight(kind);
      // Normal traffic keeps up to `concurrency` requests in flight through the pool meanwhile.
      const after = await gw.statsUntil((st) => st.upstreamInUse <= s.concurrency && st.closeWait === 0, Math.max(0, RELEASE_MS - (Date.now() - gone)), {
        quick: true,
        everyMs: 20,
      });
      r.check(
        `${what}: every upstream request released within 1 s of the clients leaving`,
        released && after.upstreamInUse <= s.concurrency && after.closeWait === 0,
        `${clients.length} clients; upstream requests in progress ${inFlight} → ${left}; gateway pool sockets in use ${during.upstreamInUse} → ${after.upstreamInUse} (normal traffic alone: ≤ ${s.concurrency}); CLOSE-WAIT ${after.closeWait}`,
      );
    };

    try {
      await normal(); // warm-up: connections, JIT
      const baseline = await normal();
      const before = await gw.stats();
      r.note(`normal traffic alone: ${n(baseline.rate)} requests/s (${baseline.tally})`);
      r.note(`before the attack: ${before.fds} descriptors, ${before.sockets} TCP sockets, ${before.upstreamInUse} upstream sockets in use, RSS ${mib(before.rss)}`);

      // Normal traffic throughout: one run beside the slowloris connections and the malformed
      // requests (its rate is compared), then one beside the vanishing clients, which hold up
      // to proxy.maxConnections upstream connections by design (every request must be served).
      const underAttack = normal();

      // Slowloris connections (a few at a time), their heads growing until the drill ends.
      for (let i = 0; i < s.slowloris; i += 50) {
        const batch = await Promise.all(Array.from({ length: Math.min(50, s.slowloris - i) }, () => openTls(gw.port, cert.cert)));
        for (const socket of batch) {
          const entry: Slow = { socket, status: 0, closed: false };
          socket.on('data', (chunk: Buffer) => (entry.status ||= Number(/^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 0)));
          socket.on('error', () => undefined);
          socket.once('close', () => (entry.closed = true));
          socket.write(`GET /v1/slowloris HTTP/1.1\r\n${HOST}`);
          slow.push(entry);
        }
      }
      let line = 0;
      trickle = setInterval(() => {
        line++;
        for (const entry of slow) if (!entry.closed) entry.socket.write(`X-Trickle-${line}: ${line}\r\n`);
      }, s.trickleMs);

      // Malformed and hostile requests, ten at a time.
      const cases = Object.entries(HOSTILE).flatMap(([name, c]) => Array.from({ length: s.repeat }, () => ({ name, c, bytes: c.bytes() })));
      const hostile = (async () => {
        const results: { name: string; expect: readonly number[] | undefined; status: number; closed: boolean; timedOut: boolean }[] = [];
        for (let i = 0; i < cases.length; i += 10) {
          const batch = cases.slice(i, i + 10);
          results.push(...(await Promise.all(batch.map(async (k) => ({ name: k.name, expect: k.c.expect, ...(await hostileExchange(gw.port, cert.cert, k.bytes, 10_000)) })))));
        }
        return results;
      })();

      // Requests that must be forwarded faithfully.
      const faithful = await Promise.all(Object.entries(FAITHFUL).map(async ([name, bytes]) => ({ name, ...(await hostileExchange(gw.port, cert.cert, bytes(), 10_000)) })));

      const [attacked, answers] = await Promise.all([underAttack, hostile]);
      r.note(`normal traffic beside ${s.slowloris} slowloris connections and ${cases.length} hostile requests: ${n(attacked.rate)} requests/s`);

      // Until every vanishing phase is over (bounded by a count all the same).
      const besideVanishing = normalLoad(s.normal * 20);
      let pipelined = 0;
      let readers = 0;
      let uploads = 0;
      for (let round = 0; round < s.rounds; round++) {
        // Clients that pipeline requests for big answers, never read, and vanish.
        const pipeliners = await Promise.all(Array.from({ length: s.pipeliners }, () => openTls(gw.port, cert.cert)));
        for (const socket of pipeliners) {
          vanishing.add(socket);
          socket.on('error', () => undefined);
          socket.pause();
          socket.write(`GET /v1/big HTTP/1.1\r\n${HOST}\r\n`.repeat(s.pipelineDepth));
        }
        pipelined += s.pipeliners * s.pipelineDepth;
        await vanish(
          'pipelined',
          pipeliners,
          (seen.arrived.get('pipelined') ?? 0) + s.pipeliners,
          `round ${round + 1}: ${s.pipeliners} pipelining clients (${s.pipelineDepth} requests each) that never read`,
        );

        // Slow readers: a chunk every 100 ms, then gone mid-answer.
        const slowReaders = await Promise.all(Array.from({ length: s.slowReaders }, () => openTls(gw.port, cert.cert)));
        const readTimers: NodeJS.Timeout[] = [];
        for (const socket of slowReaders) {
          vanishing.add(socket);
          socket.on('error', () => undefined);
          socket.on('data', () => {
            socket.pause();
            readTimers.push(setTimeout(() => socket.resume(), 100));
          });
          socket.write(`GET /v1/big HTTP/1.1\r\n${HOST}X-Kind: reader\r\n\r\n`);
        }
        readers += s.slowReaders;
        const readersArrived = (seen.arrived.get('reader') ?? 0) + s.slowReaders;
        await within(
          30_000,
          'slow readers at the upstream',
          seen.until(() => (seen.arrived.get('reader') ?? 0) >= readersArrived),
        ).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, s.slowForMs));
        await vanish('reader', slowReaders, readersArrived, `round ${round + 1}: ${s.slowReaders} slow readers gone mid-answer`);
        for (const t of readTimers) clearTimeout(t);

        // Slow uploads: 1 KiB every 100 ms of a declared 1 MiB, then gone mid-body.
        const slowUploads = await Promise.all(Array.from({ length: s.slowUploads }, () => openTls(gw.port, cert.cert)));
        for (const socket of slowUploads) {
          socket.on('error', () => undefined);
          vanishing.add(socket);
          socket.write(`POST /v1/upload HTTP/1.1\r\n${HOST}Content-Length: ${UPLOAD_BYTES}\r\n\r\n`);
        }
        const drip = setInterval(() => {
          for (const socket of slowUploads) if (!socket.destroyed) socket.write(Buffer.alloc(1024, 0x75));
        }, 100);
        uploads += s.slowUploads;
        const uploadsArrived = (seen.arrived.get('upload') ?? 0) + Math.min(s.slowUploads, s.maxConnections - s.concurrency);
        await within(
          30_000,
          'slow uploads at the upstream',
          seen.until(() => (seen.arrived.get('upload') ?? 0) >= uploadsArrived),
        ).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, s.slowForMs));
        clearInterval(drip);
        await vanish('upload', slowUploads, uploadsArrived, `round ${round + 1}: ${s.slowUploads} slow uploads gone mid-body`);
        for (const socket of [...pipeliners, ...slowReaders, ...slowUploads]) vanishing.delete(socket);
      }

      besideVanishing.stop();
      const vanishingLoad = await besideVanishing.done;
      const during = await sample();
      r.note(
        `normal traffic beside ${pipelined} pipelined requests, ${readers} slow readers and ${uploads} slow uploads that vanished: ${n(vanishingLoad.rate)} requests/s (${vanishingLoad.tally})`,
      );

      const wrong = answers.filter((a) => {
        if (a.status === 0) return !a.closed;
        if (a.expect) return !a.expect.includes(a.status);
        return a.status < 400 || a.status >= 600;
      });
      const byCase = new Map<string, Set<string>>();
      for (const a of answers) {
        const got = byCase.get(a.name) ?? new Set<string>();
        got.add(a.status ? String(a.status) : a.timedOut ? 'no answer in 10 s' : 'closed');
        byCase.set(a.name, got);
      }
      for (const [name, got] of byCase) r.note(`${name}: ${[...got].join(' / ')}`);
      r.check(
        'every hostile request got its 4xx/5xx (the expected one where the gateway decides) or a closed socket',
        wrong.length === 0,
        `${answers.length} hostile requests (${byCase.size} kinds × ${s.repeat})${
          wrong.length
            ? `; wrong: ${wrong
                .slice(0, 5)
                .map((b) => `${b.name} → ${b.status || (b.timedOut ? 'hang' : 'closed')}`)
                .join('; ')}`
            : ''
        }`,
      );
      const smuggled = [
        seen.paths.has(SMUGGLED) && SMUGGLED,
        [...seen.paths].some((p) => p.toLowerCase().startsWith('/federation')) && 'a /federation path',
        seen.paths.has('/v1/two-hosts') && 'a request with two Hosts',
        (seen.methods.has('TRACE') || seen.methods.has('CONNECT')) && 'TRACE or CONNECT',
        [...seen.hosts].some((h) => h.includes('evil')) && `Host ${[...seen.hosts].filter((h) => h.includes('evil')).join(', ')}`,
        [...seen.targets].some((t) => t !== '/') && 'a target not in origin form',
      ].filter(Boolean);
      r.check(
        'nothing smuggled past the checks to the upstream',
        smuggled.length === 0,
        smuggled.length
          ? `upstream saw ${smuggled.join('; ')}`
          : `upstream saw ${seen.paths.size} distinct paths, methods ${[...seen.methods].sort().join(', ')}, hosts ${[...seen.hosts].join(', ')}`,
      );
      const altered = [
        !(seen.obsText?.equals(OBS_TEXT) ?? false) && `header bytes ${seen.obsText?.toString('hex') ?? 'missing'} (sent ${OBS_TEXT.toString('hex')})`,
        !seen.paths.has('/v1/absolute') && 'the absolute-form request did not arrive in origin form',
        seen.xff.has(SPOOFED_XFF) && `the spoofed X-Forwarded-For ${SPOOFED_XFF} named in Connection`,
        faithful.some((f) => f.status !== 200) && `answers ${faithful.map((f) => `${f.name} → ${f.status || 'closed'}`).join('; ')}`,
      ].filter(Boolean);
      r.check(
        'nothing altered: obs-text bytes exact, absolute-form in origin form, Connection-named X-Forwarded-For dropped',
        altered.length === 0,
        altered.length ? altered.join('; ') : 'all three forwarded as promised',
      );
      r.check(
        'the upstream connections stayed within proxy.maxConnections',
        seen.maxOpen <= s.maxConnections + 1,
        `at most ${seen.maxOpen} open at the upstream (cap ${s.maxConnections}, plus the probe's own)`,
      );
      const normalOk = [baseline, attacked, vanishingLoad].every((run) => run.tally.get('200') === run.tally.count && run.tally.count > 0);
      r.check(
        'every normal request served throughout',
        normalOk,
        `alone: ${baseline.tally}; beside slowloris and malformed requests: ${attacked.tally}; beside vanishing clients: ${vanishingLoad.tally}`,
      );
      r.check(
        'normal throughput holds (at least a quarter of the rate without the attack)',
        attacked.rate >= baseline.rate / 4,
        `${n(baseline.rate)} → ${n(attacked.rate)} requests/s (${((attacked.rate / baseline.rate) * 100).toFixed(0)} %)`,
      );
      const misanswered = slow.filter((e) => e.status !== 0 && (e.status < 400 || e.status >= 500));
      r.check(
        'no slowloris connection got anything but a 4xx',
        misanswered.length === 0,
        `${slow.filter((e) => !e.closed).length} of ${slow.length} still open, ${misanswered.length} answered otherwise`,
      );
      if (s.shedWaitMs > 0) {
        const shedStarted = Date.now();
        await within(
          s.shedWaitMs,
          'slowloris shedding',
          (async () => {
            while (slow.some((e) => !e.closed && e.status === 0)) await new Promise((resolve) => setTimeout(resolve, 500));
          })(),
        ).catch(() => undefined);
        const held = slow.filter((e) => !e.closed && e.status === 0).length;
        const statuses = new Tally();
        for (const e of slow) statuses.add(e.status ? String(e.status) : e.closed ? 'closed' : 'open', 0);
        r.check('the listener sheds slowloris connections by itself (408 or close)', held === 0, `after ${Math.round((Date.now() - shedStarted) / 1000)} s: ${statuses}`);
      }
      r.check('the gateway did not crash', gw.alive, gw.exitDescription);

      clearInterval(trickle);
      for (const entry of slow) entry.socket.destroy();
      agent.destroy();
      const after = await leakCheck(r, gw, before);
      r.check('no socket left in CLOSE-WAIT', after.closeWait === 0, `${after.closeWait} in CLOSE-WAIT after the drill`);

      const hostileTotal = answers.length + faithful.length + pipelined + readers + uploads;
      r.figure('normal requests/s alone', n(baseline.rate));
      r.figure(
        'normal requests/s under attack',
        `${n(attacked.rate)} (${((attacked.rate / baseline.rate) * 100).toFixed(0)} %); ${n(vanishingLoad.rate)} beside vanishing clients`,
      );
      r.figure('normal requests', n(s.normal * 3 + vanishingLoad.tally.count));
      r.figure('slowloris connections', n(s.slowloris));
      r.figure(
        'hostile requests',
        `${n(hostileTotal)}: ${answers.length} malformed (${answers.filter((a) => a.status >= 400).length} answered 4xx/5xx, ${answers.filter((a) => a.status === 0).length} closed), ${pipelined} pipelined (sent) by vanishing non-readers, ${readers} slow readers, ${uploads} slow uploads`,
      );
      r.figure('upstream sockets in use (gateway pool)', `${before.upstreamInUse} before, ${peakInUse} at the peak, ${after.upstreamInUse} after`);
      r.figure('upstream connections', `at most ${seen.maxOpen} (cap ${s.maxConnections})`);
      r.figure('descriptors', `${before.fds} before, ${Math.max(peakFds, during.fds)} at the peak, ${after.fds} after`);
      r.figure('RSS', `${mib(before.rss)} before, ${mib(after.rss)} after (heap ${mib(before.heapUsed)} → ${mib(after.heapUsed)})`);
    } finally {
      clearInterval(trickle);
      for (const entry of slow) entry.socket.destroy();
      for (const socket of vanishing) socket.destroy();
      agent.destroy();
      await gw.close();
      await closeServer(upstream);
      cert.cleanup();
    }
    return r.finish();
  },
};
