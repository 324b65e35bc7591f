'use strict';
// A/B CPU comparison of two compiled gateways on one proxied scenario, interleaved in one
// sitting: each round starts every variant afresh (order alternating), warms it up, loads it
// with wrk and reads its CPU time from /proc around the measured run. Prints CPU µs/req per
// variant and round, the medians, and the median of the same-round differences to the first
// variant. For a machine too busy for throughput figures to mean much.
//
//   node bench/cpu-ab.js --scenario small-get|post-64k|limit|discovery --rounds 5 --seconds 5 \
//     A=.ab-base B=dist F=@undici-floor [--node-arg --max-semi-space-size=2] [--gc]
//   node bench/cpu-ab.js --scenario discovery G=dist B=@bare-bytes   (the bare server replays G's answer)
//   node bench/cpu-ab.js --scenario post-64k B=dist T=dist,env:MALLOC_TRIM_THRESHOLD_=8388608   (an environment per variant)
//
// A compiled gateway must sit in a directory next to package.json (the gateway reads its
// version from ../package.json): `npx tsc -p tsconfig.build.json --outDir .ab-base`.
//
// `limit` is the small GET with a rate-limit rule matching every request (memory store).
//
// PERF=DIR: a `perf record -g` of each variant's process over the first seconds of each
// measured run (DIR/LABEL-rROUND.perf.data; add `--node-arg --perf-basic-prof` for the
// JavaScript frames' names), to see where two variants' CPU differs.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { replayedAnswer, startTarget, stopAll } = require('./lib/targets');
const { wrk, cleanup } = require('./lib/wrk');
const { installCleanup } = require('./lib/processes');
const { median } = require('./lib/stats');
const { assignments } = require('../scripts/node-flags');

const FINGERPRINT = `sha256:${'0'.repeat(64)}`;
const RULE = { name: 'bench', match: ['/v1/'], key: 'ip', limit: 1_000_000_000, windowMs: 60_000 };
const SCENARIOS = {
  'small-get': { path: '/v1/ping', connections: 50, request: { method: 'GET' } },
  limit: { path: '/v1/ping', connections: 50, request: { method: 'GET' }, rateLimits: { rules: [RULE] } },
  'post-64k': { path: '/v1/messages', connections: 20, request: { method: 'POST', bodyBytes: 65536, headers: { 'Content-Type': 'application/octet-stream' } } },
  discovery: { path: '/.well-known/cryptid', connections: 50, request: { method: 'GET' } },
};

function parse(argv) {
  const opts = { scenario: 'small-get', rounds: 5, seconds: 5, warmup: 2, variants: [], nodeArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--scenario') opts.scenario = argv[++i];
    else if (a === '--rounds') opts.rounds = Number(argv[++i]);
    else if (a === '--seconds') opts.seconds = Number(argv[++i]);
    else if (a === '--warmup') opts.warmup = Number(argv[++i]);
    else if (a === '--node-arg') opts.nodeArgs.push(argv[++i]);
    else if (a === '--gc') opts.gc = true;
    else if (a.includes('=')) {
      const label = a.slice(0, a.indexOf('='));
      const spec = a.slice(a.indexOf('=') + 1);
      // `LABEL=DIR,--flag,--flag`: node flags for this variant alone; `+warm`: before its warm-up
      // the process carries the small-GET and 64 KiB POST loads (as in a full bench run).
      const [value, ...rest] = spec.split(',');
      const flags = rest.filter((f) => !f.startsWith('+') && !f.startsWith('env:'));
      // `env:NAME=VALUE`: an environment variable for this variant's process alone (e.g. glibc's malloc tunables).
      const env = assignments(
        rest.filter((f) => f.startsWith('env:')).map((f) => f.slice(4)),
        label,
      );
      const warm = rest.includes('+warm');
      // `+gc`: a full collection after those loads (telling heap state from JIT state apart).
      if (rest.includes('+gc')) flags.push('--expose-gc');
      const gc = rest.includes('+gc');
      // `+limit`: this variant alone gets the rate-limit rule of the `limit` scenario.
      const limit = rest.includes('+limit');
      // `@name` is another target of bench/targets/ (e.g. `@undici-floor`), measured the same way.
      if (value.startsWith('@')) opts.variants.push({ label, file: value.slice(1), flags, env, warm, gc, limit });
      else opts.variants.push({ label, file: 'gateway', dist: path.resolve(value), flags, env, warm, gc, limit });
    } else throw new Error(`unknown argument ${a}`);
  }
  // --gc: gateways run as gateway-gc.js, which counts V8's collections over the measured run.
  if (opts.gc) for (const v of opts.variants) if (v.file === 'gateway') v.file = 'gateway-gc';
  if (!SCENARIOS[opts.scenario]) throw new Error(`unknown scenario ${opts.scenario}`);
  if (opts.variants.length === 0) throw new Error('name at least one variant: LABEL=DIST_DIR');
  return opts;
}

async function main() {
  installCleanup();
  const opts = parse(process.argv.slice(2));
  const shape = SCENARIOS[opts.scenario];
  const ctx = { cores: { load: 1, targets: 0 }, dist: undefined };
  const children = [];
  const results = new Map(opts.variants.map((v) => [v.label, []]));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cryptid-cpuab-'));
  try {
    const upstream = await startTarget(ctx, 'upstream', 'upstream');
    children.push(upstream);
    const config = { upstream: upstream.url, fingerprint: FINGERPRINT, ...(shape.rateLimits && { rateLimits: shape.rateLimits }) };
    // `@bare-bytes` replays the first gateway variant's exact answer for the scenario's path.
    if (opts.variants.some((v) => v.file === 'bare-bytes')) {
      const gw = opts.variants.find((v) => v.dist !== undefined);
      if (gw === undefined) throw new Error("@bare-bytes replays a gateway variant's answer: name one");
      config.answerFile = await replayedAnswer(ctx, gw.file, gw.dist, config, shape.path, tmp);
    }
    for (let round = 0; round < opts.rounds; round++) {
      const order = opts.variants.map((_, i) => opts.variants[(i + round) % opts.variants.length]);
      for (const v of order) {
        const child = await startTarget(ctx, v.label, v.file, v.limit ? { ...config, rateLimits: SCENARIOS.limit.rateLimits } : config, {
          dist: v.dist,
          nodeArgs: [...opts.nodeArgs, ...v.flags],
          env: v.env,
        });
        try {
          const base = { url: `${child.url}${shape.path}`, connections: shape.connections, threads: 1, core: ctx.cores.load, request: shape.request };
          if (v.warm) {
            for (const other of [SCENARIOS['small-get'], SCENARIOS['post-64k']]) {
              await wrk({ url: `${child.url}${other.path}`, connections: other.connections, threads: 1, core: ctx.cores.load, request: other.request, seconds: opts.seconds });
            }
          }
          if (v.gc) await child.request({ type: 'gc' }, 'gc-done');
          if (opts.warmup > 0) await wrk({ ...base, seconds: opts.warmup });
          if (v.file === 'gateway-gc') await child.request({ type: 'gc-stats' }, 'gc-stats');
          const before = child.cpuSeconds();
          const faults0 = child.minorFaults();
          const up0 = upstream.cpuSeconds();
          const recording = process.env.PERF ? perfRecord(child.pid, path.join(process.env.PERF, `${v.label}-r${round}.perf.data`), opts.seconds - 1) : null;
          const r = await wrk({ ...base, seconds: opts.seconds });
          if (recording !== null) await recording;
          const cpu = child.cpuSeconds() - before;
          const faults = child.minorFaults() - faults0;
          const upCpu = upstream.cpuSeconds() - up0;
          const gc = opts.gc && v.file === 'gateway-gc' ? await child.request({ type: 'gc-stats' }, 'gc-stats') : undefined;
          const row = {
            round,
            rps: r.rps,
            p50: r.p50Ms,
            p99: r.p99Ms,
            errors: r.errors,
            us: (cpu * 1e6) / r.requests,
            faults: faults / r.requests,
            upUs: (upCpu * 1e6) / r.requests,
            rss: child.rssBytes(),
            peak: child.peakRssBytes(),
          };
          results.get(v.label).push(row);
          process.stdout.write(
            `round ${round} ${v.label.padEnd(8)} ${row.us.toFixed(1).padStart(6)} µs/req  ${Math.round(row.rps).toString().padStart(6)} req/s  p50 ${row.p50.toFixed(2)} p99 ${row.p99.toFixed(2)} ms  up ${row.upUs.toFixed(1)} µs  rss ${(row.rss / 2 ** 20).toFixed(0)} (peak ${(row.peak / 2 ** 20).toFixed(0)}) MiB  faults ${row.faults.toFixed(2)}/req  err ${row.errors}${gc ? `  gc: ${gc.minor} minor (${gc.minorMs.toFixed(0)} ms), ${gc.major} major + ${gc.incremental} incr (${gc.majorMs.toFixed(0)} ms), longest ${gc.longestMs.toFixed(1)} ms` : ''}\n`,
          );
        } finally {
          await child.stop();
        }
      }
    }
  } finally {
    await stopAll(children);
    cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const first = opts.variants[0].label;
  process.stdout.write(`\n${opts.scenario}, ${opts.rounds} rounds of ${opts.seconds} s${opts.nodeArgs.length ? ` (node ${opts.nodeArgs.join(' ')})` : ''}\n`);
  for (const v of opts.variants) {
    const rows = results.get(v.label);
    const diffs = rows.map((r, i) => r.us - results.get(first)[i].us);
    process.stdout.write(
      `${v.label.padEnd(8)} CPU ${median(rows.map((r) => r.us)).toFixed(1)} µs/req (${Math.min(...rows.map((r) => r.us)).toFixed(1)}–${Math.max(...rows.map((r) => r.us)).toFixed(1)})` +
        `  req/s ${Math.round(median(rows.map((r) => r.rps)))}  p99 ${median(rows.map((r) => r.p99)).toFixed(2)} ms  page faults ${median(rows.map((r) => r.faults)).toFixed(2)}/req` +
        (v.label === first ? '' : `  Δ vs ${first} ${median(diffs) >= 0 ? '+' : ''}${median(diffs).toFixed(1)} µs`) +
        '\n',
    );
  }
}

/** Records the process for `seconds` (ending within the measured run); rejects when perf is missing. */
function perfRecord(pid, file, seconds) {
  const perf = spawn('perf', ['record', '-g', '-F', '2000', '-p', String(pid), '-o', file, '--', 'sleep', String(Math.max(1, seconds))], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    perf.once('error', (err) => reject(new Error(`perf: ${err.message} (Debian: apt-get install linux-perf)`)));
    perf.once('exit', resolve);
  });
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
