'use strict';
// The method every throughput scenario shares: targets interleaved round by round
// (A B C, B C A, C A B, …), each run in a target process started just before it unless
// --reuse, CPU time of each target's own process read around each measured window, and
// per-target medians, spread and same-round ratios.

const { median, min, max } = require('./stats');

/**
 * @param targets [{id, label, child, upstream?, ref?, engine?, nginx?}] — `child` is the process
 *   whose CPU is the target's own; `upstream` the upstream process behind it, if any;
 *   `ref` the id it is compared with (its baseline), `engine` the bare engine's id, `nginx`
 *   nginx's id.
 * @param measure (target, window) => Promise<{requests, rps, p50Ms, p99Ms, errors}>; it
 *   calls window.start() and window.end() around the measured part.
 */
async function interleave(ctx, { scenario, targets, measure }) {
  const runs = [];
  for (let round = 0; round < ctx.opts.rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const target of order) {
      if (target.failed) continue;
      // Started right before its run, not at the start of the round: a process that did
      // socket work while it sat idle answers more slowly afterwards, and only targets with
      // background work of their own (the gateway's probes) would pay for the wait
      // (bench/README.md, "A fresh process for every run").
      if (ctx.opts.fresh && target.renew) {
        try {
          await target.renew();
        } catch (err) {
          ctx.warn(`${scenario} · ${target.label}: a fresh process did not start (${err.message.split('\n')[0]}); the run reuses the old one`);
        }
      }
      const cpu = { start: null, end: null };
      const sample = () => ({
        own: target.child.cpuSeconds(),
        upstream: target.upstream ? target.upstream.cpuSeconds() : 0,
        extra: target.extra ? target.extra.cpuSeconds() : 0,
      });
      const window = {
        start: () => (cpu.start = sample()),
        end: () => (cpu.end = sample()),
      };
      ctx.progress(`${scenario} · round ${round + 1}/${ctx.opts.rounds} · ${target.label}`);
      try {
        const r = await measure(target, window);
        if (!cpu.start || !cpu.end) throw new Error('measure did not mark its window');
        runs.push({
          round,
          target: target.id,
          ...r,
          cpuUs: r.requests > 0 ? ((cpu.end.own - cpu.start.own) / r.requests) * 1e6 : NaN,
          upstreamCpuUs: target.upstream && r.requests > 0 ? ((cpu.end.upstream - cpu.start.upstream) / r.requests) * 1e6 : NaN,
          extraCpuUs: target.extra && r.requests > 0 ? ((cpu.end.extra - cpu.start.extra) / r.requests) * 1e6 : NaN,
        });
      } catch (err) {
        runs.push({ round, target: target.id, failed: err.message });
        ctx.warn(`${scenario} · ${target.label}: ${err.message}`);
      }
    }
  }
  return { scenario, targets: targets.map((t) => summarize(t, runs)), runs };
}

function summarize(target, runs) {
  const own = runs.filter((r) => r.target === target.id && !r.failed);
  const failures = runs.filter((r) => r.target === target.id && r.failed).map((r) => r.failed);
  const ratioTo = (otherId) => {
    if (!otherId || otherId === target.id) return NaN;
    const ratios = own
      .map((r) => [r, runs.find((o) => o.target === otherId && o.round === r.round && !o.failed)])
      .filter(([, o]) => o)
      .map(([r, o]) => r.rps / o.rps);
    return median(ratios);
  };
  const rps = own.map((r) => r.rps);
  return {
    id: target.id,
    label: target.label,
    ref: target.ref,
    engine: target.engine,
    runs: own.length,
    failed: target.failed ?? (failures.length ? failures[0] : undefined),
    rps: median(rps),
    rpsMin: rps.length ? min(rps) : NaN,
    rpsMax: rps.length ? max(rps) : NaN,
    ratio: ratioTo(target.ref),
    ratioEngine: ratioTo(target.engine),
    ratioNginx: ratioTo(target.nginx),
    /** req/s ÷ another target's, same round, median over rounds. */
    ratioTo,
    p50Ms: median(own.map((r) => r.p50Ms)),
    p99Ms: median(own.map((r) => r.p99Ms)),
    cpuUs: median(own.map((r) => r.cpuUs)),
    upstreamCpuUs: median(own.map((r) => r.upstreamCpuUs)),
    extraCpuUs: median(own.map((r) => r.extraCpuUs)),
    /** CPU µs/req above another target's, round by round: the median of the paired differences. */
    cpuAbove: (otherId) =>
      median(
        own
          .map((r) => [r, runs.find((o) => o.target === otherId && o.round === r.round && !o.failed)])
          .filter(([, o]) => o)
          .map(([r, o]) => r.cpuUs - o.cpuUs),
      ),
    errors: own.reduce((n, r) => n + (r.errors ?? 0), 0),
    requests: own.reduce((n, r) => n + (r.requests ?? 0), 0),
  };
}

module.exports = { interleave };
