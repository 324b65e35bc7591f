import { once } from 'node:events';
import { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { gatewayOptions } from '../../helpers/gateway';
import { startRawUpstream } from '../../helpers/upstream';
import { GatewayProcess } from './gateway-process';
import { leakCheck } from './leak-check';
import { kindOf, send, Tally, CLIENT_IDLE_MS } from './load';
import { mib, n, Recorder, within, type Drill, type DrillSize } from './report';

const SIZES = {
  short: { rounds: 3, concurrency: 100, timeoutMs: 1000 },
  full: { rounds: 12, concurrency: 500, timeoutMs: 2000 },
};

/**
 * Drill 2: the upstream accepts every connection and never answers. Each request gets a
 * 504 at `proxy.timeoutMs`, the upstream sockets are let go, memory stays flat.
 */
export const upstreamHangs: Drill = {
  id: 'upstream-hangs',
  title: 'Upstream hangs',
  async run(size: DrillSize, log = () => undefined) {
    const s = SIZES[size];
    const r = new Recorder(this.id, size, log);
    const open = new Set<Socket>();
    // Accepts, reads, never answers (the gateway's probes are answered by the helper itself).
    const upstream = await startRawUpstream((socket) => {
      open.add(socket);
      socket.resume();
      socket.once('close', () => open.delete(socket));
    });
    const gw = await GatewayProcess.start({ mode: 'library', options: gatewayOptions(upstream.url, { proxy: { timeoutMs: s.timeoutMs } }) });
    const agent = new Agent({ keepAlive: true, timeout: CLIENT_IDLE_MS });
    const tally = new Tally();
    const wrong = new Tally();
    let early = 0;
    let late = 0;
    let minLatency = Infinity;
    const rss: number[] = [];
    let stillOpen = 0;
    try {
      await gw.untilStatus('healthy', 10_000);
      const before = await gw.stats();
      for (let round = 1; round <= s.rounds; round++) {
        const outcomes = await Promise.all(
          Array.from({ length: s.concurrency }, (_, i) => send(`${gw.url}/v1/messages?r=${round}&i=${i}`, { agent, hangAfterMs: s.timeoutMs + 5000 })),
        );
        for (const o of outcomes) {
          const kind = kindOf(o);
          tally.add(kind, o.latencyMs);
          if (kind !== '504 UPSTREAM_TIMEOUT') wrong.add(kind, o.latencyMs);
          // A timer never fires early (node rounds to the millisecond: allow that much).
          if (o.latencyMs < s.timeoutMs - 2) early++;
          if (o.latencyMs > s.timeoutMs + 1000) late++;
          minLatency = Math.min(minLatency, o.latencyMs);
        }
        // The gateway aborts every upstream request it timed out: each hung socket closes.
        const closing = [...open].map((socket) => once(socket, 'close'));
        try {
          await within(5000, 'upstream sockets closing', Promise.all(closing));
        } catch {
          stillOpen = Math.max(stillOpen, open.size);
        }
        rss.push((await gw.stats()).rss);
        r.note(`round ${round}: ${s.concurrency} × 504, upstream sockets open ${open.size}, gateway RSS ${mib(rss.at(-1) ?? 0)}`);
      }
      agent.destroy();
      r.check('every request answered 504 UPSTREAM_TIMEOUT', wrong.count === 0, `${n(tally.count)} requests: ${tally}`);
      r.check(
        `at the timeout (${s.timeoutMs} ms, answered within + 1 s)`,
        early === 0 && late === 0,
        `fastest ${Math.round(minLatency)} ms, slowest ${Math.round(tally.maxLatencyMs)} ms; ${early} early, ${late} late`,
      );
      r.check('the gateway let go of every hung upstream socket', stillOpen === 0 && open.size === 0, `${upstream.connections.length} accepted, ${open.size} still open`);
      // The first third of the rounds warms up (pools, JIT, the heap growing to its working
      // size); the rest must stay flat. Only the full run bounds it: a few rounds on a busy
      // machine are too noisy for a memory assertion.
      const warmRounds = Math.max(1, Math.floor(s.rounds / 3));
      const base = rss[warmRounds - 1] ?? 0;
      const last = rss.at(-1) ?? 0;
      const growth = base > 0 ? (last - base) / base : 0;
      const memoryDetail = `gateway RSS after round ${warmRounds} ${mib(base)}, after round ${rss.length} ${mib(last)} (${(growth * 100).toFixed(1)} %)`;
      if (size === 'full')
        r.check(
          'memory flat after the warm-up rounds (RSS within 10 %)',
          growth <= 0.1,
          `${memoryDetail}; by round: ${rss.map((b) => (b / 1048576).toFixed(0)).join(', ')} MiB`,
        );
      else r.note(memoryDetail);
      r.check('the gateway did not crash', gw.alive, gw.exitDescription);
      await leakCheck(r, gw, before);
      r.figure('requests', n(tally.count));
      r.figure('504 latency', `${Math.round(minLatency)}–${Math.round(tally.maxLatencyMs)} ms (timeout ${s.timeoutMs} ms)`);
      r.figure('gateway RSS', memoryDetail);
    } finally {
      agent.destroy();
      await gw.close();
      await upstream.close();
    }
    return r.finish();
  },
};
