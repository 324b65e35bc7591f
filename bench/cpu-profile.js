'use strict';
// Where one gateway's CPU goes on one proxied scenario: the gateway target under
// `node --cpu-prof` for a warm-up and a run, then self time per request by function and by
// origin, and the inclusive time (the function and everything it called) per request of the
// gateway's own functions, so "what does the metrics observation cost with its callees"
// can be read off directly.
//
//   node bench/cpu-profile.js --scenario small-get|post-64k|limit|discovery [--seconds 5] [DIST_DIR] [--keep DIR]
//   node bench/cpu-profile.js --scenario post-64k @undici-floor   the same for a floor target
//   node bench/cpu-profile.js … --node-arg --max-semi-space-size=2     with Node/V8 flags (repeatable)
//   node bench/cpu-profile.js --warm ...   discovery after a small-GET and a POST load in the same process
// The gateway and its floors run in the environment of the gateway's launchers
// (scripts/node-env.txt), as in `npm run bench`, and every other target without it: without it,
// a 64 KiB POST profile can catch a process whose malloc gives its heap back after every young
// collection, 10-25 µs/req of page faults that production lacks.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { replayedAnswer, startTarget, stopAll } = require('./lib/targets');
const { wrk, cleanup } = require('./lib/wrk');
const { installCleanup } = require('./lib/processes');
const { summarize } = require('./lib/profile');
const { nodeEnv } = require('../scripts/node-flags');

const FINGERPRINT = `sha256:${'0'.repeat(64)}`;
const RULE = { name: 'bench', match: ['/v1/'], key: 'ip', limit: 1_000_000_000, windowMs: 60_000 };
const SHAPES = {
  'small-get': { path: '/v1/ping', connections: 50, request: { method: 'GET' } },
  limit: { path: '/v1/ping', connections: 50, request: { method: 'GET' }, rateLimits: { rules: [RULE] } },
  'post-64k': { path: '/v1/messages', connections: 20, request: { method: 'POST', bodyBytes: 65536, headers: { 'Content-Type': 'application/octet-stream' } } },
  discovery: { path: '/.well-known/cryptid', connections: 50, request: { method: 'GET' } },
};

/** Inclusive time per function (self time of the node and all its descendants), keyed like `summarize`. */
function inclusive(file) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const totals = new Map();
  // A function counted once per stack even when it recurses.
  const walk = (node, onStack) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const d = url.lastIndexOf('/dist/');
    const key =
      url && (d !== -1 || url.includes('/.ab-')) ? `${functionName || '(anonymous)'} ${url.slice(url.lastIndexOf('/', url.lastIndexOf('/') - 1) + 1)}:${lineNumber + 1}` : null;
    const fresh = key !== null && !onStack.has(key);
    if (fresh) onStack.add(key);
    let sum = self.get(node.id) ?? 0;
    const children = node.children ?? [];
    for (const c of children) sum += walk(byId.get(c), onStack);
    if (fresh) {
      totals.set(key, (totals.get(key) ?? 0) + sum);
      onStack.delete(key);
    }
    return sum;
  };
  const root = profile.nodes[0];
  walk(root, new Set());
  return totals;
}

async function main() {
  installCleanup();
  const argv = process.argv.slice(2);
  let scenario = 'small-get';
  // `@undici-floor` and the like: profile that bench target instead of the gateway.
  let target = 'gateway';
  /** `--node-arg FLAG` (repeatable): Node/V8 flags for the profiled process, such as the image's. */
  const nodeArgs = [];
  let seconds = 5;
  let dist;
  let keep;
  let warm = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--scenario') scenario = argv[++i];
    else if (argv[i] === '--seconds') seconds = Number(argv[++i]);
    else if (argv[i] === '--keep') keep = argv[++i];
    else if (argv[i] === '--warm') warm = true;
    else if (argv[i] === '--node-arg') nodeArgs.push(argv[++i]);
    else if (argv[i].startsWith('@')) target = argv[i].slice(1);
    else dist = path.resolve(argv[i]);
  }
  const shape = SHAPES[scenario];
  const ctx = { cores: { load: 1, targets: 0 }, dist, opts: { gatewayEnv: nodeEnv() } };
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cryptid-cpuprof-'));
  fs.mkdirSync(dir, { recursive: true });
  const children = [];
  try {
    const upstream = await startTarget(ctx, 'upstream', 'upstream');
    children.push(upstream);
    const config = { upstream: upstream.url, fingerprint: FINGERPRINT, ...(shape.rateLimits && { rateLimits: shape.rateLimits }) };
    // The bare server replays the gateway's own answer (from DIST_DIR, or ../dist).
    if (target === 'bare-bytes') config.answerFile = await replayedAnswer(ctx, 'gateway', dist, config, shape.path, dir);
    const gw = await startTarget(ctx, target, target, config, { nodeArgs: [...nodeArgs, '--cpu-prof', `--cpu-prof-dir=${dir}`] });
    children.push(gw);
    const load = (s, sec) => wrk({ url: `${gw.url}${s.path}`, connections: s.connections, threads: 1, core: 1, request: s.request, seconds: sec });
    if (warm) {
      // The other scenarios' traffic first, as in a process that has carried it.
      await load(SHAPES['small-get'], seconds);
      await load(SHAPES['post-64k'], seconds);
    }
    const w = await load(shape, 2);
    const cpu0 = gw.cpuSeconds();
    const r = await load(shape, seconds);
    const cpuUs = ((gw.cpuSeconds() - cpu0) * 1e6) / r.requests;
    await gw.stop(10000);
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    const requests = r.requests + w.requests + (warm ? 0 : 0);
    const s = summarize(path.join(dir, file), 40);
    const per = (ms) => ((ms * 1000) / requests).toFixed(2);
    process.stdout.write(
      `${scenario}${warm ? ' (warmed process)' : ''}: run ${Math.round(r.rps)} req/s, ${cpuUs.toFixed(1)} CPU µs/req (/proc, outside the profiler's own cost is included)\n`,
    );
    process.stdout.write(
      `profile: busy ${s.busyMs.toFixed(0)} ms over ${requests} requests${warm ? ' (plus the earlier loads)' : ''} = ${per(s.busyMs)} µs/req\n\nby origin (self µs/req):\n`,
    );
    for (const o of s.origins) process.stdout.write(`  ${per(o.ms).padStart(7)}  ${(o.share * 100).toFixed(1).padStart(5)} %  ${o.name}\n`);
    process.stdout.write('\ntop self time (µs/req):\n');
    for (const f of s.functions) process.stdout.write(`  ${per(f.ms).padStart(7)}  ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.name}\n`);
    process.stdout.write('\ngateway functions, inclusive (µs/req):\n');
    const inc = [...inclusive(path.join(dir, file))].sort((a, b) => b[1] - a[1]).slice(0, 40);
    for (const [k, us] of inc) process.stdout.write(`  ${(us / requests).toFixed(2).padStart(7)}  ${k}\n`);
  } finally {
    await stopAll(children);
    cleanup();
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
