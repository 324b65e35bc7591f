import { Agent } from 'node:http';
import { gatewayOptions } from '../../helpers/gateway';
import { GatewayProcess } from './gateway-process';
import { errorCode, kindOf, Load, send, Tally, CLIENT_IDLE_MS } from './load';
import { n, Recorder, type Drill, type DrillSize } from './report';
import { leakCheck } from './leak-check';
import { UpstreamProcess } from './upstream-process';

const SIZES = {
  // Short: each client pauses a little between requests, so that a slow test machine (or
  // jest's --detectOpenHandles) still has room for the drill's own bookkeeping.
  short: { cycles: 1, concurrency: 200, thinkMs: 20, warm: 1_500, down: 1_500, after: 1_500, intervalMs: 1000, probeTimeoutMs: 1000, proxyTimeoutMs: 3000 },
  full: { cycles: 3, concurrency: 200, thinkMs: 0, warm: 50_000, down: 20_000, after: 50_000, intervalMs: 2000, probeTimeoutMs: 1000, proxyTimeoutMs: 5000 },
};

/** Statuses a request may get while its upstream dies and returns: success or the gateway's own answers. */
const ALLOWED: Record<number, string> = { 502: 'UPSTREAM_UNAVAILABLE', 503: 'SERVER_UNAVAILABLE', 504: 'UPSTREAM_TIMEOUT' };

/**
 * Drill 1: the upstream is killed under 200 concurrent clients and comes back on the same
 * port. Every request is answered in time, health follows, traffic recovers, nothing leaks.
 */
export const upstreamKilled: Drill = {
  id: 'upstream-killed',
  title: 'Upstream killed mid-load',
  async run(size: DrillSize, log = () => undefined) {
    const s = SIZES[size];
    const r = new Recorder(this.id, size, log);
    const healthyThreshold = 2;
    const upstream = await UpstreamProcess.start();
    const gw = await GatewayProcess.start({
      mode: 'library',
      options: gatewayOptions(upstream.url, {
        health: { probe: { path: '/v1/health', intervalMs: s.intervalMs, timeoutMs: s.probeTimeoutMs, unhealthyThreshold: 3, healthyThreshold } },
        proxy: { timeoutMs: s.proxyTimeoutMs, failFast: true },
      }),
    });
    const agent = new Agent({ keepAlive: true, timeout: CLIENT_IDLE_MS });
    const answerBound = s.proxyTimeoutMs + 1000;
    const tally = new Tally();
    const unexpected = new Tally();
    let late = 0;
    let phase: 'up' | 'down' | 'back' = 'up';
    let firstFailureAt: number | undefined;
    let firstSuccessBackAt: number | undefined;
    let load: Load | undefined;
    try {
      await gw.untilStatus('healthy', 10_000);
      const before = await gw.stats();
      load = new Load(s.concurrency, Number.MAX_SAFE_INTEGER, async (i) => {
        const o = await send(`${gw.url}/v1/messages?i=${i}`, { agent, hangAfterMs: answerBound + 4000 });
        const kind = kindOf(o);
        tally.add(kind, o.latencyMs);
        if (o.latencyMs > answerBound) late++;
        const ok = !o.error && (o.status === 200 || (ALLOWED[o.status] !== undefined && errorCode(o.body) === ALLOWED[o.status]));
        if (!ok) unexpected.add(kind, o.latencyMs);
        if (o.status === 200 && !o.error) {
          if (phase === 'back') firstSuccessBackAt ??= Date.now();
        } else if (phase === 'down') firstFailureAt ??= Date.now();
        if (s.thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, s.thinkMs));
      });
      const detections: number[] = [];
      const recoveries: number[] = [];
      const healthyAgain: number[] = [];
      let stuck: string | undefined;
      for (let cycle = 1; cycle <= s.cycles && stuck === undefined; cycle++) {
        try {
          await load.untilFinished(load.finished + s.warm);
          // The drill starts from a healthy upstream (a first cycle's recovery may still be under way).
          if (gw.status !== 'healthy') await gw.untilStatus('healthy', s.intervalMs * 4 + 10_000, gw.statuses.length);
          phase = 'down';
          firstFailureAt = undefined;
          let mark = gw.statuses.length;
          const statusesBefore = mark;
          const killedAt = Date.now();
          await upstream.kill();
          const unhealthyAt = await gw.untilStatus('unhealthy', s.intervalMs * 4 + 10_000, mark);
          // Measured from the first failed answer a client saw: that is when live traffic failed.
          detections.push(unhealthyAt - (firstFailureAt ?? unhealthyAt));
          await load.untilFinished(load.finished + s.down);
          phase = 'back';
          firstSuccessBackAt = undefined;
          mark = gw.statuses.length;
          const startedAt = Date.now();
          await upstream.start();
          const leftAt = await gw.untilStatus((status) => status !== 'unhealthy', s.intervalMs * 4 + 10_000, mark);
          await load.untilFinished(load.finished + s.after);
          healthyAgain.push(leftAt - startedAt);
          recoveries.push((firstSuccessBackAt ?? Infinity) - startedAt);
          for (const change of gw.statuses.slice(statusesBefore)) r.note(`status ${change.value} at +${change.at - killedAt} ms: ${change.reason ?? ''}`);
          r.note(`first failed answer at +${(firstFailureAt ?? 0) - killedAt} ms`);
          r.note(
            `cycle ${cycle}: unhealthy ${detections.at(-1)} ms after the first failed answer; back ${leftAt - startedAt} ms, traffic ${recoveries.at(-1)} ms after the upstream returned`,
          );
        } catch (err) {
          // A status that never came: reported as a failed check, with what the gateway did say.
          stuck = `${(err as Error).message}; statuses seen: ${gw.statuses.map((c) => `${c.value} (${c.reason ?? ''})`).join(' → ')}`;
        }
      }
      r.check('the gateway reported every status change it had to', stuck === undefined, stuck ?? `${s.cycles} × unhealthy and back`);
      await load.stop();
      agent.destroy();

      r.check(
        'every request answered',
        unexpected.count === 0 && tally.count > 0,
        `${n(tally.count)} requests: ${tally}${unexpected.count ? `; unexpected: ${unexpected}` : ''}`,
      );
      r.check(`every answer within proxy.timeoutMs + 1 s (${answerBound} ms)`, late === 0, `slowest ${Math.round(tally.maxLatencyMs)} ms, ${late} later`);
      const detectBound = s.probeTimeoutMs + 1000;
      r.check(
        `unhealthy within one probe timeout of live traffic failing (≤ ${s.probeTimeoutMs} ms + 1 s)`,
        detections.every((d) => d <= detectBound),
        `${detections.join(', ')} ms`,
      );
      // The next probe comes within one interval (+10 % jitter), then one more per needed success.
      const recoverBound = Math.ceil(healthyThreshold * s.intervalMs * 1.1) + s.probeTimeoutMs + 1000;
      r.check(
        `traffic recovers within healthyThreshold (${healthyThreshold}) probes of the upstream's return (≤ ${recoverBound} ms)`,
        recoveries.every((d) => d <= recoverBound) && healthyAgain.every((d) => d <= recoverBound),
        `first success ${recoveries.join(', ')} ms, status left unhealthy ${healthyAgain.join(', ')} ms after the upstream returned`,
      );
      r.check('the gateway did not crash', gw.alive, gw.exitDescription);
      await upstream.kill(); // its pooled keep-alive connections end; the gateway must let go of them
      await leakCheck(r, gw, before);
      r.figure('requests', n(tally.count));
      r.figure('outcomes', tally.toString());
      r.figure('slowest answer', `${Math.round(tally.maxLatencyMs)} ms (bound ${answerBound} ms)`);
      r.figure('unhealthy after first failure', `${Math.max(...detections)} ms max`);
      r.figure('traffic back after upstream returned', `${Math.max(...recoveries)} ms max (probe interval ${s.intervalMs} ms)`);
    } finally {
      await load?.stop();
      agent.destroy();
      await gw.close();
      await upstream.close();
    }
    return r.finish();
  },
};
