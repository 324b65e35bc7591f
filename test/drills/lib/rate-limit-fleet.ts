import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { digest } from '../../../src/rate-limit/client-key';
import { redisKeyBase } from '../../../src/rate-limit/redis-store';
import { makeCert } from '../../helpers/certs';
import { closeServer, listenLocal } from '../../helpers/listen';
import { keysUnder, RedisProcess } from '../../helpers/redis';
import { answerProbe, PROBE_PATH } from '../../helpers/upstream';
import { kindOf, send, Tally, CLIENT_IDLE_MS, type Outcome } from './load';
import { n, Recorder, within, type Drill, type DrillSize } from './report';
import { ServeProcess } from './serve-process';

const SIZES = {
  short: { limit: 30, windowMs: 1000, steady: 3, pause: 2, recover: 2, down: 2, back: 3 },
  full: { limit: 200, windowMs: 2000, steady: 10, pause: 3, recover: 5, down: 5, back: 10 },
};

/** Replicas sharing one Redis, one key sent to them round-robin at this multiple of its limit. */
const REPLICAS = 3;
const OVERLOAD = 3;
const TIMEOUT_MS = 100;
/** The bound on any wait: the store's timeout plus a second for a loaded machine. */
const WAIT_BOUND_MS = TIMEOUT_MS + 1000;
/** Accepted per window within this share of the limit while Redis answers. */
const TOLERANCE = 0.05;
/**
 * "Near the limit" while each replica limits alone: every replica holds its own share
 * exactly, but no one place counts the fleet's windows, and the clients' answers near a
 * window's boundary fall on either side of it; with few windows that noise is a few %.
 */
const ALONE_TOLERANCE = 0.1;
/**
 * Requests in flight at most. The load is open-loop (sent on schedule, whatever the answers
 * do) but bounded: a request due while this many are still out is skipped and counted, so
 * a slow moment on a shared machine cannot snowball into thousands of new TLS connections.
 */
const MAX_IN_FLIGHT = 48;
/** Keep-alive connections per replica, opened before the load starts: what is timed is the gateway, not TLS handshakes. */
const CONNECTIONS = MAX_IN_FLIGHT / REPLICAS;
const TOKEN = 'fleet-token';

type Phase = 'steady' | 'paused' | 'resumed' | 'down' | 'back';

interface Answer {
  /** The phase it was sent in. */
  readonly phase: Phase;
  /** Drill time when it was answered. */
  readonly answeredAt: number;
  readonly outcome: Outcome;
}

/** Accepted/limit figures of a group of whole windows. */
interface WindowFigures {
  readonly windows: number;
  /** Accepted in all of them ÷ (windows × limit): what the fleet's clients got, whatever window each answer fell in. */
  readonly total: number;
  /** The same per window, as the client saw it (an answer near a boundary may fall on either side of it). */
  readonly perWindow: readonly number[];
}

const range = (xs: readonly number[]): string => (xs.length === 0 ? 'none' : `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`);

/**
 * The rate-limit fleet drill: three `serve` replicas share one Redis; one client key is sent
 * to them round-robin at three times its limit. While Redis answers, the fleet admits the
 * limit (within 5 %) per window: Redis' own count of each window says so, and so do the
 * clients' answers added up. Redis paused (SIGSTOP) and then killed mid-run: no request waits
 * longer than the store's timeout + 1 s, no replica crashes, and `onStoreError: allow` keeps
 * the fleet near the limit through each replica's own limiter (limit ÷ 3). Redis back: the
 * limits are shared and enforced in Redis again within seconds.
 */
export const rateLimitFleet: Drill = {
  id: 'rate-limit-fleet',
  title: 'Rate limits across a fleet (shared Redis paused, killed, back)',
  async run(size: DrillSize, log = () => undefined) {
    const s = SIZES[size];
    const r = new Recorder(this.id, size, log);
    const cert = makeCert();
    const upstream = createServer((req, res) => {
      if (answerProbe(req, res)) return;
      req.resume();
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"queued"}');
    });
    const upstreamUrl = `http://127.0.0.1:${await listenLocal(upstream)}`;
    const redis = await RedisProcess.start();
    // The drill's own look at Redis: what the fleet counted in each window (never waiting for a stopped Redis).
    const reader = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 200, retryStrategy: () => 200 });
    reader.on('error', () => undefined);
    const keyBase = redisKeyBase('cryptid-gateway:', 'fleet', `bearer:${digest(TOKEN)}`);
    const config = join(cert.dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        health: { probe: { path: PROBE_PATH, intervalMs: 60_000 } },
        rateLimits: {
          store: 'redis',
          redis: { url: redis.url, timeoutMs: TIMEOUT_MS },
          onStoreError: 'allow',
          replicas: REPLICAS,
          rules: [{ name: 'fleet', match: ['POST /v1/messages'], key: 'bearer', limit: s.limit, windowMs: s.windowMs }],
        },
        logLevel: 'info',
      }),
    );
    const args = [
      '--config',
      config,
      '--upstream',
      upstreamUrl,
      '--server-name',
      'chat.example.com',
      '--tls-cert',
      cert.certPath,
      '--tls-key',
      cert.keyPath,
      '--listen',
      '127.0.0.1:0',
      '--metrics-listen',
      'off',
    ];
    const replicas: ServeProcess[] = [];
    // FIFO: every open connection takes its turn, so none sits idle long enough to be closed and opened again.
    const agent = new Agent({ keepAlive: true, timeout: CLIENT_IDLE_MS, ca: cert.cert, maxSockets: CONNECTIONS, scheduling: 'fifo' });
    const answers: Answer[] = [];
    const inFlight = new Set<Promise<void>>();
    /** Redis' count of each window, read just after the window ended (absent when Redis did not answer). */
    const counted = new Map<number, number>();
    let sampler: NodeJS.Timeout | undefined;
    let phase: Phase = 'steady';
    let sending = true;
    let skipped = 0;
    try {
      for (let i = 1; i <= REPLICAS; i++) replicas.push(await ServeProcess.start(`replica ${i}`, args));
      for (const replica of replicas) await replica.untilLog('rate_limit_store_up', 10_000);
      // The connections, opened with requests the gateway answers itself (no limit, no upstream).
      await Promise.all(replicas.flatMap((rep) => Array.from({ length: CONNECTIONS }, () => send(`${rep.url}/v1/health`, { agent, ca: [cert.cert], hangAfterMs: 20_000 }))));

      const sample = (): void => {
        const now = Date.now();
        const ended = Math.floor(now / s.windowMs) - 1;
        reader.get(`${keyBase}:${ended}`).then(
          (value) => void counted.set(ended, Number(value ?? 0)),
          () => undefined,
        );
        // Half a window after each boundary: the window before is over, its key still there.
        sampler = setTimeout(sample, (Math.floor(now / s.windowMs) + 1.5) * s.windowMs - now);
      };
      sampler = setTimeout(sample, (Math.floor(Date.now() / s.windowMs) + 1.5) * s.windowMs - Date.now());

      // Open-loop load at OVERLOAD × the limit, round-robin: requests go out on schedule whatever the answers do.
      const intervalMs = s.windowMs / (OVERLOAD * s.limit);
      const started = Date.now();
      const sender = (async () => {
        for (let i = 0; sending; i++) {
          const wait = started + i * intervalMs - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          if (inFlight.size >= MAX_IN_FLIGHT) {
            skipped++;
            continue;
          }
          const target = replicas[i % REPLICAS] as ServeProcess;
          const sentIn = phase;
          const task = send(`${target.url}/v1/messages`, {
            method: 'POST',
            body: '{}',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
            agent,
            ca: [cert.cert],
            hangAfterMs: WAIT_BOUND_MS + 4000,
          }).then((outcome) => void answers.push({ phase: sentIn, answeredAt: Date.now(), outcome }));
          inFlight.add(task);
          void task.finally(() => inFlight.delete(task));
        }
      })();
      const windows = (count: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, count * s.windowMs));

      await windows(s.steady + 1);
      const beforePause = replicas.map((rep) => rep.logs.length);
      phase = 'paused';
      redis.pause();
      r.note(`Redis paused (SIGSTOP) after ${n(answers.length)} answers`);
      await windows(s.pause);
      phase = 'resumed';
      const resumedAt = Date.now();
      redis.resume();
      const upAfterPause = Math.max(...(await Promise.all(replicas.map((rep, i) => rep.untilLog('rate_limit_store_up', 15_000, beforePause[i])))));
      await windows(s.recover);
      const beforeKill = replicas.map((rep) => rep.logs.length);
      phase = 'down';
      await redis.kill();
      r.note(`Redis killed after ${n(answers.length)} answers`);
      await windows(s.down);
      phase = 'back';
      const restartedAt = Date.now();
      await redis.restart();
      const upAfterKill = Math.max(...(await Promise.all(replicas.map((rep, i) => rep.untilLog('rate_limit_store_up', 15_000, beforeKill[i])))));
      await windows(s.back + 1);
      sending = false;
      await sender;
      await within(WAIT_BOUND_MS + 6000, 'answers in flight', Promise.all([...inFlight]));
      clearTimeout(sampler);

      // Whole windows by the phase every answer in them was sent in; answers count in the window they came back in.
      const byWindow = new Map<number, { accepted: number; phases: Set<Phase> }>();
      for (const a of answers) {
        const w = Math.floor(a.answeredAt / s.windowMs);
        const entry = byWindow.get(w) ?? { accepted: 0, phases: new Set<Phase>() };
        entry.phases.add(a.phase);
        if (a.outcome.status === 202 && !a.outcome.error) entry.accepted++;
        byWindow.set(w, entry);
      }
      const first = Math.floor(started / s.windowMs) + 1;
      const last = Math.floor(Math.max(...answers.map((a) => a.answeredAt)) / s.windowMs) - 1;
      const wholeWindows = (phases: readonly { phase: Phase; from: number }[]): number[] => {
        const found: number[] = [];
        for (let w = first; w <= last; w++) {
          const entry = byWindow.get(w);
          const only = entry !== undefined && entry.phases.size === 1 ? [...entry.phases][0] : undefined;
          if (phases.some((p) => p.phase === only && w * s.windowMs >= p.from)) found.push(w);
        }
        return found;
      };
      const figures = (ws: readonly number[]): WindowFigures => {
        const perWindow = ws.map((w) => (byWindow.get(w)?.accepted ?? 0) / s.limit);
        return { windows: ws.length, total: perWindow.reduce((a, b) => a + b, 0) / Math.max(1, ws.length), perWindow };
      };
      const shared = wholeWindows([
        { phase: 'steady', from: 0 },
        { phase: 'resumed', from: upAfterPause },
        { phase: 'back', from: upAfterKill },
      ]);
      const alone = wholeWindows([
        { phase: 'paused', from: 0 },
        { phase: 'down', from: 0 },
      ]);
      const sharedFigures = figures(shared);
      const aloneFigures = figures(alone);
      const inRedis = shared.filter((w) => counted.has(w)).map((w) => (counted.get(w) as number) / s.limit);

      const tally = new Tally();
      for (const a of answers) tally.add(kindOf(a.outcome), a.outcome.latencyMs);
      const fresh = answers.filter((a) => !a.outcome.reusedSocket).length;
      const worst = (phases: Phase[]): number => answers.filter((a) => phases.includes(a.phase)).reduce((m, a) => Math.max(m, a.outcome.latencyMs), 0);
      const unexpected = answers.filter((a) => a.outcome.error !== undefined || (a.outcome.status !== 202 && a.outcome.status !== 429));

      r.check(
        'every request answered 202 (forwarded) or 429 (limited): onStoreError allow never refused for the store',
        unexpected.length === 0,
        `${n(answers.length)} answers: ${tally}`,
      );
      r.check(
        `no request waited longer than the store timeout + 1 s (${WAIT_BOUND_MS} ms)`,
        tally.maxLatencyMs <= WAIT_BOUND_MS,
        `worst wait ${tally.maxLatencyMs.toFixed(0)} ms (Redis paused: ${worst(['paused']).toFixed(0)} ms, killed: ${worst(['down']).toFixed(0)} ms, answering: ${worst(['steady', 'resumed', 'back']).toFixed(0)} ms)`,
      );
      r.check(
        `Redis counted the limit, within ${TOLERANCE * 100} %, in each window while it answered`,
        inRedis.length >= s.steady && inRedis.every((x) => x <= 1 && x >= 1 - TOLERANCE),
        `${inRedis.length} windows read back from Redis, counted/limit ${range(inRedis)} (limit ${s.limit} per ${s.windowMs} ms, ${OVERLOAD}× offered over ${REPLICAS} replicas)`,
      );
      r.check(
        `the fleet's clients got the limit, within ${TOLERANCE * 100} %, per window while Redis answered`,
        sharedFigures.windows >= s.steady && Math.abs(sharedFigures.total - 1) <= TOLERANCE,
        `${sharedFigures.windows} whole windows: accepted/limit ${sharedFigures.total.toFixed(3)} over them (window by window as answers fell: ${range(sharedFigures.perWindow)})`,
      );
      r.check(
        `with Redis paused or gone, the replicas' own limiters (limit ÷ 3 each) kept the fleet within ${ALONE_TOLERANCE * 100} % of the limit`,
        aloneFigures.windows > 0 && Math.abs(aloneFigures.total - 1) <= ALONE_TOLERANCE,
        `${aloneFigures.windows} whole windows: accepted/limit ${aloneFigures.total.toFixed(3)} over them (${range(aloneFigures.perWindow)})`,
      );
      const recovery = [upAfterPause - resumedAt, upAfterKill - restartedAt];
      r.check(
        'Redis back: every replica enforced the limits in Redis again within 10 s',
        recovery.every((ms) => ms <= 10_000),
        `after SIGCONT ${recovery[0]} ms, after the restart ${recovery[1]} ms (the last replica)`,
      );
      r.check(
        'Redis holds the counts again after the restart',
        keysUnder(redis, 'cryptid-gateway:').length > 0,
        `${keysUnder(redis, 'cryptid-gateway:').length} key(s) under the prefix`,
      );
      const alive = replicas.every((rep) => rep.alive);
      for (const rep of replicas) rep.terminate();
      const exits = await Promise.all(replicas.map((rep) => within(30_000, `${rep.name} exit`, rep.exited)));
      r.check(
        'no replica crashed; each stopped with exit 0 after SIGTERM',
        alive && exits.every((e) => e.code === 0),
        exits.map((e, i) => `replica ${i + 1}: ${e.code ?? e.signal}`).join(', '),
      );

      r.figure('counted/limit per window in Redis', range(inRedis));
      r.figure('accepted/limit, Redis answering', `${sharedFigures.total.toFixed(3)} over ${sharedFigures.windows} windows`);
      r.figure('accepted/limit, Redis paused or gone', `${aloneFigures.total.toFixed(3)} over ${aloneFigures.windows} windows`);
      r.figure('worst wait', `${tally.maxLatencyMs.toFixed(0)} ms (bound ${WAIT_BOUND_MS} ms)`);
      r.figure('enforced in Redis again after', `${recovery[0]} ms (SIGCONT), ${recovery[1]} ms (restart)`);
      r.figure('requests', `${n(answers.length)} (${n(skipped)} skipped: due while ${MAX_IN_FLIGHT} were in flight; ${n(fresh)} on a new connection)`);
    } finally {
      sending = false;
      clearTimeout(sampler);
      agent.destroy();
      reader.disconnect();
      for (const rep of replicas) await rep.kill();
      await redis.stop();
      await closeServer(upstream);
      cert.cleanup();
    }
    return r.finish();
  },
};
