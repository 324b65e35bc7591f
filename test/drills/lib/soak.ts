import { once } from 'node:events';
import { Agent } from 'node:http';
import type { WebSocket } from 'ws';
import { gatewayOptions } from '../../helpers/gateway';
import { openWs, startWsUpstream } from '../../helpers/ws-upstream';
import { GatewayProcess } from './gateway-process';
import type { GatewayStats } from './gateway-protocol';
import { leakCheck } from './leak-check';
import { kindOf, Load, send, Tally, CLIENT_IDLE_MS } from './load';
import { mib, n, Recorder, within, type Drill, type DrillSize } from './report';

const SIZES = {
  short: { requests: 20_000, messages: 2_000, concurrency: 50, tunnels: 10 },
  full: { requests: 1_000_000, messages: 100_000, concurrency: 50, tunnels: 10 },
};

/** One client tunnel and the messages it still expects back, in order. */
interface Tunnel {
  ws: WebSocket;
  expected: string[];
}

/**
 * Drill 6: a soak. Many proxied requests and WebSocket messages through one gateway
 * process: all answered, no growth in open handles, RSS flat (bounded in the full run).
 */
export const soak: Drill = {
  id: 'soak',
  title: 'Soak',
  async run(size: DrillSize, log = () => undefined) {
    const s = SIZES[size];
    const r = new Recorder(this.id, size, log);
    const upstream = await startWsUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"queued"}');
    });
    const gw = await GatewayProcess.start({ mode: 'library', options: gatewayOptions(upstream.url) });
    const agent = new Agent({ keepAlive: true, timeout: CLIENT_IDLE_MS });
    const tally = new Tally();
    const tunnels: Tunnel[] = [];
    let sent = 0;
    let echoed = 0;
    let mismatched = 0;
    let load: Load | undefined;
    const echoesDone: { wake?: () => void } = {};
    try {
      await gw.untilStatus('healthy', 10_000);
      const before = await gw.stats();
      for (let t = 0; t < s.tunnels; t++) {
        const ws = await openWs(`${gw.url.replace('http:', 'ws:')}/v1/stream`, { headers: { authorization: 'Bearer good' } });
        const tunnel: Tunnel = { ws, expected: [] };
        ws.on('message', (data: Buffer) => {
          if (data.toString() !== tunnel.expected.shift()) mismatched++;
          echoed++;
          if (echoed === s.messages) echoesDone.wake?.();
        });
        tunnels.push(tunnel);
      }
      // One WebSocket message per `every` requests, spread over the whole run.
      const every = Math.max(1, Math.floor(s.requests / s.messages));
      load = new Load(s.concurrency, s.requests, async (i) => {
        const o = await send(`${gw.url}/v1/messages?i=${i}`, { agent, hangAfterMs: 15_000 });
        tally.add(kindOf(o), o.latencyMs);
        if (i % every === 0 && sent < s.messages) {
          const tunnel = tunnels[sent % tunnels.length]!;
          const message = `message ${sent} ${'x'.repeat(sent % 200)}`;
          tunnel.expected.push(message);
          tunnel.ws.send(message);
          sent++;
        }
      });
      // Figures at every tenth of the run (the first one is the reference), the last one just
      // before the end, with the same clients still connected.
      const checkpoint = Math.round(s.requests * 0.1);
      const points: GatewayStats[] = [];
      for (let tenth = 1; tenth <= 10; tenth++) {
        await load.untilFinished(tenth < 10 ? checkpoint * tenth : s.requests - 2 * s.concurrency);
        const point = await gw.stats();
        points.push(point);
        r.note(`after ${n(load.finished)} requests: gateway RSS ${mib(point.rss)}, heap ${mib(point.heapUsed)}, ${point.sockets} TCP sockets, ${point.fds} fds`);
      }
      const early = points[0]!;
      const late = points.at(-1)!;
      await within(600_000, 'soak load', load.done);
      const rate = load.rate;
      const echoes = echoed >= s.messages ? Promise.resolve() : new Promise<void>((wake) => (echoesDone.wake = wake));
      await within(60_000, 'WebSocket echoes', echoes).catch(() => undefined);
      await Promise.all(
        tunnels.map(async ({ ws }) => {
          const closed = once(ws, 'close');
          ws.close(1000);
          await closed;
        }),
      );
      agent.destroy();
      upstream.server.closeIdleConnections();

      r.check(
        'every request answered 200',
        tally.get('200') === s.requests,
        `${n(tally.count)} requests: ${tally} (${n(rate)}/s, slowest ${Math.round(tally.maxLatencyMs)} ms)`,
      );
      r.check(
        'every WebSocket message echoed, in order',
        sent === s.messages && echoed === s.messages && mismatched === 0,
        `${n(sent)} sent over ${s.tunnels} tunnels, ${n(echoed)} echoed, ${mismatched} out of order or changed`,
      );
      r.check(
        'no growth in open handles under load',
        late.sockets <= early.sockets + s.concurrency && late.fds <= early.fds + s.concurrency,
        `TCP sockets ${early.sockets} → ${late.sockets}, fds ${early.fds} → ${late.fds} (same clients connected at both points)`,
      );
      const growth = (late.rss - early.rss) / early.rss;
      const memoryDetail = `gateway RSS after ${n(checkpoint)} requests ${mib(early.rss)}, near the end ${mib(late.rss)} (${(growth * 100).toFixed(1)} %)`;
      // A short run is too noisy for a memory bound: it is printed, not asserted.
      if (size === 'full') r.check('RSS within 10 % of RSS after the first 10 %', growth <= 0.1, memoryDetail);
      else r.note(memoryDetail);
      r.check('the gateway did not crash', gw.alive, gw.exitDescription);
      await leakCheck(r, gw, before);
      r.figure('requests', `${n(tally.count)} at ${n(rate)}/s`);
      r.figure('WebSocket messages', n(echoed));
      r.figure('gateway RSS', memoryDetail);
      r.figure('gateway heap', `${mib(early.heapUsed)} → ${mib(late.heapUsed)}`);
      r.figure('gateway RSS by tenth', `${points.map((p) => (p.rss / 1048576).toFixed(0)).join(', ')} MiB`);
    } finally {
      await load?.stop();
      for (const { ws } of tunnels) ws.terminate();
      agent.destroy();
      await gw.close();
      await upstream.close();
    }
    return r.finish();
  },
};
