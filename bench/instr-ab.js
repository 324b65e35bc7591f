'use strict';
// Instructions per proxied request, counted by valgrind's callgrind (which counts them
// whatever else the machine does): the gateway target under callgrind answers a warm-up of
// W requests and then M more; the same again with M2 more; the difference of the two totals
// divided by M2 − M1 is the cost of one request, start-up and warm-up cancelling out.
// Variants run interleaved. The load is a Node client with keep-alive connections.
//
//   node bench/instr-ab.js --scenario small-get|post-64k|limit|discovery [--warm 2000] [--m1 1000] [--m2 5000] A=.ab-base B=dist
//   node bench/instr-ab.js … D=dist S=dist,--max-semi-space-size=1   (one build with and without a flag)
//   node bench/instr-ab.js … G=dist F=@undici-floor                   (the gateway against its engine's floor)
//   node bench/instr-ab.js --window … A=.ab-base B=dist   one process per figure: counters zeroed after the
//                                                        warm-up, dumped after --m2 more requests, main thread (see countWindow)

const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startTarget, stopAll } = require('./lib/targets');
const { installCleanup } = require('./lib/processes');

const FINGERPRINT = `sha256:${'0'.repeat(64)}`;
const RULE = { name: 'bench', match: ['/v1/'], key: 'ip', limit: 1_000_000_000, windowMs: 60_000 };
const SHAPES = {
  'small-get': { path: '/v1/ping', connections: 20, method: 'GET' },
  limit: { path: '/v1/ping', connections: 20, method: 'GET', rateLimits: { rules: [RULE] } },
  'post-64k': { path: '/v1/messages', connections: 10, method: 'POST', body: Buffer.alloc(65536, 'x') },
  discovery: { path: '/.well-known/cryptid', connections: 20, method: 'GET' },
};

/** `n` requests over `connections` keep-alive connections; rejects on any non-2xx answer. */
function load(url, shape, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: shape.connections });
  let sent = 0;
  const one = () =>
    new Promise((resolve, reject) => {
      const req = http.request(
        url,
        { method: shape.method, agent, headers: shape.body ? { 'content-type': 'application/octet-stream', 'content-length': shape.body.length } : {} },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(shape.body);
    });
  const worker = async () => {
    while (sent < n) {
      sent++;
      await one();
    }
  };
  return Promise.all(Array.from({ length: shape.connections }, worker)).finally(() => agent.destroy());
}

/**
 * One target process under callgrind, writing to `out` (with `extraArgs` for valgrind):
 * `drive(url, pid)` loads it once it is ready, then it is stopped, and killed whatever happened.
 */
async function underCallgrind(ctx, { file: target, dist, flags }, config, out, extraArgs, drive) {
  const file = path.join(__dirname, 'targets', `${target}.js`);
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${out}`,
      ...extraArgs,
      '--dump-instr=no',
      '--smc-check=all-non-file',
      '--trace-children=no',
      process.execPath,
      ...flags,
      file,
      JSON.stringify(config),
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, BENCH_DIST: dist } },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const ready = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 180 s: ${stderr}`)), 180_000);
      child.on('message', (m) => m.type === 'ready' && (clearTimeout(timer), resolve(m)));
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    await drive(ready.url, child.pid);
    child.send({ type: 'stop' });
    await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
  } finally {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** The instruction total of a callgrind output file. */
function totalOf(file) {
  const m = /^(?:summary|totals): (\d+)/m.exec(fs.readFileSync(file, 'utf8'));
  if (!m) throw new Error(`no totals in the callgrind output ${path.basename(file)}`);
  return Number(m[1]);
}

/** One gateway process under callgrind: `warm + extra` requests, then its total instruction count. */
async function count(ctx, variant, config, shape, warm, extra) {
  const out = path.join(ctx.tmp, `cg-${process.hrtime.bigint()}.out`);
  await underCallgrind(ctx, variant, config, out, [], (url) => load(`${url}${shape.path}`, shape, warm + extra));
  try {
    return totalOf(out);
  } finally {
    fs.rmSync(out, { force: true });
  }
}

/**
 * `--window`: one gateway process under callgrind, `warm` requests, then its counters zeroed
 * (`callgrind_control -z`), `extra` requests and a dump (`--dump`): the instructions of the
 * window alone, start-up, warm-up and exit left out, so one process gives the figure and the
 * spread of two processes' totals (their collections and compilations falling differently)
 * does not enter it.
 */
async function countWindow(ctx, variant, config, shape, warm, extra) {
  const out = path.join(ctx.tmp, `cg-${process.hrtime.bigint()}.out`);
  const control = (pid, ...args) =>
    new Promise((resolve, reject) =>
      execFile('callgrind_control', [...args, String(pid)], { timeout: 120_000 }, (err, stdout) =>
        err ? reject(new Error(`callgrind_control ${args.join(' ')}: ${err.message}`)) : resolve(stdout),
      ),
    );
  await underCallgrind(ctx, variant, config, out, ['--separate-threads=yes'], async (base, pid) => {
    const url = `${base}${shape.path}`;
    await load(url, shape, warm);
    await control(pid, '--zero');
    await load(url, shape, extra);
    await control(pid, '--dump=window');
  });
  const files = fs.readdirSync(ctx.tmp).filter((name) => name.startsWith(path.basename(out)));
  try {
    // One file per thread (--separate-threads): the main thread's (-01) is the figure, the
    // others (V8's compiler and GC helpers) are reported beside it: a warm-up under valgrind
    // leaves some of their one-off work (optimizing compiles) inside the window.
    const prefix = `${path.basename(out)}.1-`;
    const totals = new Map(files.filter((name) => name.startsWith(prefix)).map((name) => [name.slice(prefix.length), totalOf(path.join(ctx.tmp, name))]));
    const main = totals.get('01');
    if (main === undefined) throw new Error('no window dump of the main thread in the callgrind output');
    const all = [...totals.values()].reduce((sum, n) => sum + n, 0);
    return { main: main / extra, all: all / extra };
  } finally {
    // The window's dump and the one at exit, a file per thread each.
    for (const name of files) fs.rmSync(path.join(ctx.tmp, name), { force: true });
  }
}

async function main() {
  installCleanup();
  const argv = process.argv.slice(2);
  let scenario = 'small-get';
  let warm = 2000;
  let m1 = 1000;
  let m2 = 5000;
  let rounds = 1;
  let window = false;
  const variants = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--scenario') scenario = argv[++i];
    else if (a === '--warm') warm = Number(argv[++i]);
    else if (a === '--m1') m1 = Number(argv[++i]);
    else if (a === '--m2') m2 = Number(argv[++i]);
    else if (a === '--rounds') rounds = Number(argv[++i]);
    else if (a === '--window') window = true;
    else {
      // `LABEL=DIR[,--flag…]`: Node/V8 flags for this variant's gateway alone.
      const label = a.slice(0, a.indexOf('='));
      // `LABEL=@name`: another target of bench/targets/ (e.g. `@undici-floor`), counted the same way.
      const [dir, ...flags] = a.slice(a.indexOf('=') + 1).split(',');
      if (dir.startsWith('@')) variants.push({ label, file: dir.slice(1), dist: path.resolve('dist'), flags, per: [] });
      else variants.push({ label, file: 'gateway', dist: path.resolve(dir), flags, per: [] });
    }
  }
  const shape = SHAPES[scenario];
  const ctx = { cores: { load: 1, targets: 0 }, tmp: fs.mkdtempSync(path.join(os.tmpdir(), 'cryptid-instr-')) };
  const children = [];
  try {
    const upstream = await startTarget(ctx, 'upstream', 'upstream');
    children.push(upstream);
    const config = { upstream: upstream.url, fingerprint: FINGERPRINT, ...(shape.rateLimits && { rateLimits: shape.rateLimits }) };
    for (let r = 0; r < rounds; r++) {
      for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
        if (window) {
          const { main: per, all } = await countWindow(ctx, v, config, shape, warm, m2);
          v.per.push(per);
          process.stdout.write(
            `round ${r} ${v.label.padEnd(8)} ${Math.round(per).toLocaleString('en')} instructions/request on the main thread, ${Math.round(all).toLocaleString('en')} with V8's threads (${m2} requests after ${warm})\n`,
          );
          continue;
        }
        const [a, b] = await Promise.all([count(ctx, v, config, shape, warm, m1), count(ctx, v, config, shape, warm, m2)]);
        const per = (b - a) / (m2 - m1);
        v.per.push(per);
        process.stdout.write(
          `round ${r} ${v.label.padEnd(8)} ${Math.round(per).toLocaleString('en')} instructions/request (totals ${a.toLocaleString('en')} / ${b.toLocaleString('en')})\n`,
        );
      }
    }
  } finally {
    await stopAll(children);
    fs.rmSync(ctx.tmp, { recursive: true, force: true });
  }
  const first = variants[0];
  for (const v of variants) {
    const mean = v.per.reduce((s, x) => s + x, 0) / v.per.length;
    const base = first.per.reduce((s, x) => s + x, 0) / first.per.length;
    process.stdout.write(
      `${scenario} ${v.label.padEnd(8)} ${Math.round(mean).toLocaleString('en')} instr/req${v === first ? '' : ` (${(((mean - base) / base) * 100).toFixed(1)} % vs ${first.label})`}\n`,
    );
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
