#!/usr/bin/env node
'use strict';
// `npm run bench`: starts every target on loopback, loads them interleaved, prints a
// table, writes bench/results/<YYYY-MM-DD>.md and stops everything it started.
// Benchmarks are not tests: nothing here fails on a figure. See bench/README.md.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { nodeFlags, nodeEnv, assignments } = require('../scripts/node-flags');
const { parseArgs } = require('node:util');
const { makeCert } = require('./lib/certs');
const { machine } = require('./lib/machine');
const { installCleanup, killAll } = require('./lib/processes');
const { render } = require('./lib/report');
const wrkLib = require('./lib/wrk');
const { smallGet, post64k } = require('./scenarios/proxied-http');
const { discovery } = require('./scenarios/discovery');
const { wsEcho } = require('./scenarios/ws-echo');
const { wsIdle } = require('./scenarios/ws-idle');
const { oneProcess } = require('./scenarios/one-process');
const { profile } = require('./scenarios/profile');

const SCENARIOS = [smallGet, post64k, discovery, wsEcho, wsIdle, oneProcess, profile];

const USAGE = `usage: node bench/run.js [options]
  --quick            smoke run: 2 s runs, 1 s warm-up, 1 round, 1,000 idle tunnels, no profile, no results file
  --rounds N         interleaved rounds per scenario (default 3)
  --duration S       seconds per measured run (default 8)
  --warmup S         seconds of warm-up load before each measured run (default 2)
  --tunnels N        idle WebSocket tunnels (default 10000)
  --hold S           seconds the idle tunnels are held before measuring (default 5)
  --only LIST        comma-separated scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}
  --no-profile       skip the CPU profile of the gateway
  --no-pin           do not pin processes to cores with taskset
  --reuse            keep each target's process for every round (default: fresh processes each round)
  --out FILE         results file (default bench/results/<YYYY-MM-DD>.md; quick runs write none)
  --dist DIR         compiled gateway to load (default dist/; also BENCH_DIST)
  --label TEXT       what the gateway under test is called in the tables (default "net", its HTTP engine)
  --compare-dist DIR a second compiled gateway, measured interleaved with the first in the proxied HTTP and WebSocket echo scenarios
  --compare-label T  what that second gateway is called (default "compare")
  --node MAJOR|PATH  run every target (gateway, http-proxy-3, bare servers, upstream) on another Node:
                     a major version (20, 22, 24: scripts/node-runtime.sh prints its binary) or a path
  --gateway-node-args=FLAGS   Node/V8 flags for the gateway's processes and its floors (default: those of
                              scripts/node-flags.txt, as the image runs it; --gateway-node-args= with nothing: Node's defaults)
  --compare-node-args=FLAGS   the same for the gateway of --compare-dist (default: those of --gateway-node-args)
  --gateway-env=NAME=VALUE,…  environment for the gateway's processes and its floors (default: that of
                              scripts/node-env.txt, as the image runs it; --gateway-env= with nothing: none)
  -h, --help`;

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      tunnels: { type: 'string' },
      hold: { type: 'string' },
      only: { type: 'string' },
      'no-profile': { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      reuse: { type: 'boolean', default: false },
      out: { type: 'string' },
      dist: { type: 'string' },
      label: { type: 'string' },
      'compare-dist': { type: 'string' },
      'compare-label': { type: 'string' },
      node: { type: 'string' },
      'gateway-node-args': { type: 'string' },
      'compare-node-args': { type: 'string' },
      'gateway-env': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick;
  const num = (name, fallback) => {
    if (values[name] === undefined) return fallback;
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a non-negative number, got "${values[name]}"`);
    return n;
  };
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : undefined;
  const unknown = (only ?? []).filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (values['compare-node-args'] !== undefined && !values['compare-dist']) throw new Error('--compare-node-args needs --compare-dist');
  if (unknown.length) throw new Error(`--only: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  return {
    quick,
    rounds: Math.max(1, Math.round(num('rounds', quick ? 1 : 3))),
    seconds: Math.max(1, num('duration', quick ? 2 : 8)),
    warmupSeconds: num('warmup', quick ? 1 : 2),
    tunnels: Math.round(num('tunnels', quick ? 1000 : 10000)),
    holdSeconds: num('hold', quick ? 1 : 5),
    only,
    profile: !values['no-profile'] && !quick,
    pin: !values['no-pin'],
    fresh: !values.reuse,
    out: values.out ?? (quick ? undefined : path.join(__dirname, 'results', `${new Date().toISOString().slice(0, 10)}.md`)),
    dist: values.dist ?? process.env.BENCH_DIST,
    label: values.label ?? 'net',
    compareDist: values['compare-dist'],
    compareLabel: values['compare-label'] ?? 'compare',
    node: values.node,
    // The gateway is measured as it ships: with the flags its image and `npm start` give node,
    // unless told otherwise (`--gateway-node-args=` with nothing: Node's defaults).
    gatewayNodeArgs: values['gateway-node-args'] !== undefined ? values['gateway-node-args'].split(/\s+/).filter(Boolean) : nodeFlags(),
    compareNodeArgs: values['compare-node-args'] !== undefined ? values['compare-node-args'].split(/\s+/).filter(Boolean) : undefined,
    gatewayEnv: values['gateway-env'] !== undefined ? assignments(values['gateway-env'].split(',').filter(Boolean), '--gateway-env') : nodeEnv(),
  };
}

/**
 * The Node binary the targets run on: this one by default; `--node 22` asks
 * scripts/node-runtime.sh for a cached binary of that major; anything else is a path.
 */
function targetNode(spec) {
  if (spec === undefined) return { path: process.execPath, version: process.version };
  let file = spec;
  if (/^\d+$/.test(spec)) {
    const script = path.join(__dirname, '..', 'scripts', 'node-runtime.sh');
    if (!fs.existsSync(script)) throw new Error(`--node ${spec}: ${path.relative(process.cwd(), script)} is missing; pass a path to a node binary instead`);
    const r = spawnSync(script, [spec], { stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`--node ${spec}: scripts/node-runtime.sh ${spec} failed (${r.status})`);
    file = r.stdout.toString().trim().split('\n').pop();
  }
  file = path.resolve(file);
  const v = spawnSync(file, ['-v']);
  if (v.status !== 0) throw new Error(`--node ${spec}: ${file} does not run (${v.error?.message ?? v.status})`);
  const version = v.stdout.toString().trim();
  if (/^\d+$/.test(spec) && !version.startsWith(`v${spec}.`)) throw new Error(`--node ${spec}: ${file} is Node ${version}`);
  return { path: file, version };
}

function preflight(ctx) {
  const dist = ctx.dist ? path.resolve(ctx.dist) : path.join(__dirname, '..', 'dist');
  for (const file of ['gateway.js', 'server/sidecar.js']) {
    if (!fs.existsSync(path.join(dist, file))) throw new Error(`${path.join(dist, file)} is missing: run \`npm run build\` first (or use \`npm run bench\`, which builds)`);
  }
  for (const tool of ['wrk', 'taskset', 'openssl']) {
    if (tool === 'taskset' && !ctx.opts.pin) continue;
    const r = spawnSync('sh', ['-c', `command -v ${tool}`]);
    if (r.status !== 0) throw new Error(`${tool} is not installed${tool === 'wrk' ? ' (Debian: apt-get install -y wrk)' : ''}`);
  }
}

async function main() {
  installCleanup();
  const opts = options();
  const cores = os.cpus().length;
  const pin = opts.pin && cores >= 2;
  const node = targetNode(opts.node);
  const ctx = {
    opts,
    node: node.path,
    nodeVersion: node.version,
    dist: opts.dist ? path.resolve(opts.dist) : undefined,
    // Two cores: the load generator alone on one, the target and the upstream it talks to on the other.
    cores: pin ? { load: cores - 1, targets: 0 } : { load: undefined, targets: undefined },
    threads: pin ? 1 : 2,
    tmp: fs.mkdtempSync(path.join(os.tmpdir(), 'cryptid-bench-')),
    warnings: [],
    progress: (text) => process.stderr.write(`bench: ${text}\n`),
    warn: (text) => {
      ctx.warnings.push(text);
      process.stderr.write(`bench: warning: ${text}\n`);
    },
  };
  preflight(ctx);
  const selected = SCENARIOS.filter((s) => (opts.only ? opts.only.includes(s.id) : s.id !== 'profile' || opts.profile));

  // A bound on the whole run, whatever hangs: everything started is killed.
  const perRun = opts.seconds + opts.warmupSeconds + 3;
  const budget = (selected.length * opts.rounds * 4 * perRun + 600) * 1000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: gave up after ${Math.round(budget / 1000)} s\n`);
    killAll();
    process.exit(1);
  }, budget);
  watchdog.unref();

  ctx.cert = makeCert();
  // Temporary files go on any exit, including a signal (its handler exits the process).
  const removeTemporary = () => {
    ctx.cert.cleanup();
    wrkLib.cleanup();
    fs.rmSync(ctx.tmp, { recursive: true, force: true });
  };
  process.on('exit', removeTemporary);
  const results = [];
  try {
    for (const scenario of selected) {
      try {
        results.push(await scenario.run(ctx));
      } catch (err) {
        ctx.warn(`${scenario.title}: ${err.message}`);
      }
    }
  } finally {
    removeTemporary();
  }

  const placement = pin
    ? `Pinning (taskset): load generator (wrk, 1 thread; WebSocket clients) on core ${ctx.cores.load}; every target and the upstream on core ${ctx.cores.targets}, so a proxy and its upstream share one core.`
    : 'No pinning: the scheduler places every process (wrk with 2 threads).';
  const method =
    `Method: each scenario's targets run interleaved (round r starts at target r), ${opts.rounds} round(s), ${opts.fresh ? 'every proxy and bare server in a process started just before its run (the upstream stays)' : 'each target in one process for all rounds (--reuse)'}; before each measured run ${opts.warmupSeconds} s of the same load warm it up; each measured run lasts ${opts.seconds} s. ` +
    'Figures are medians over the rounds; the spread is min–max; ratios are taken within a round, then their median. ' +
    "CPU µs/req is utime+stime of the target's own process (from /proc/<pid>/stat) over the measured run ÷ requests answered; the upstream behind a proxy is counted separately. " +
    `All traffic on 127.0.0.1. ${placement} ` +
    (opts.gatewayNodeArgs.length
      ? `The gateway's processes (library mode and serve) run \`node ${opts.gatewayNodeArgs.join(' ')}\`, as its image and \`npm start\` do (scripts/node-flags.txt), and so do the floors (undici floor, byte pipe), so that a gap to them is the gateway's own code; every other target runs with Node's defaults.`
      : "Every process, the gateway's included, runs with Node's defaults.") +
    (Object.keys(opts.gatewayEnv).length
      ? ` The gateway's processes and the floors also run with ${Object.entries(opts.gatewayEnv)
          .map(([name, value]) => `\`${name}=${value}\``)
          .join(', ')} in their environment (the image and \`npm start\` set that of scripts/node-env.txt); the other targets without it.`
      : '');
  ctx.progress(`targets ran on Node ${node.version}`);
  const report = render({
    machine: {
      ...machine(),
      node: node.path === process.execPath ? process.version : `${node.version} (${node.path}; the harness and its load clients on ${process.version})`,
    },
    command: `node bench/run.js${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    method,
    results,
    warnings: ctx.warnings,
  });
  process.stdout.write(`\n${report}\n`);
  if (opts.out) {
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, `# Benchmark results, ${new Date().toISOString().slice(0, 10)}, Node ${node.version}\n\n${report}`);
    process.stderr.write(`bench: wrote ${path.relative(process.cwd(), opts.out)}\n`);
  }
}

main()
  .then(() => {
    killAll();
    process.exit(0);
  })
  .catch((err) => {
    process.stderr.write(`bench: ${err.message}\n`);
    killAll();
    process.exit(1);
  });
