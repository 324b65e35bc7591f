'use strict';
// Shared plumbing of every benchmark target: each target is its own child process (so its
// CPU time can be read from /proc/<pid>/stat), told what to do by a JSON argument and
// driven over the IPC channel. No target prints anything unless it fails.

const path = require('node:path');

/** The target's configuration: the JSON passed as the first argument. */
function config() {
  return JSON.parse(process.argv[2] ?? '{}');
}

/** The compiled gateway (`dist/` by default; `BENCH_DIST` points elsewhere). */
function dist(subpath) {
  const root = process.env.BENCH_DIST ? path.resolve(process.env.BENCH_DIST) : path.join(__dirname, '..', '..', 'dist');
  return require(path.join(root, subpath));
}

/** Waits for a server to listen on 127.0.0.1, port 0 unless told. */
function listen(server, port = 0) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

/**
 * Announces readiness and answers the harness: `stop` exits cleanly (so `--cpu-prof`
 * writes its profile), `gc` collects (with --expose-gc), `memory` reports usage (after a full GC
 * with `collect: true`).
 * A target whose parent is gone exits at once.
 */
function serve(ready, stop = async () => undefined) {
  const send = (msg) => process.connected && process.send(msg);
  let stopping = false;
  const exit = async () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(0), 2000);
    force.unref();
    try {
      await stop();
    } finally {
      process.exit(0);
    }
  };
  process.on('disconnect', exit);
  process.on('SIGTERM', exit);
  process.on('message', (msg) => {
    if (msg.type === 'stop') void exit();
    else if (msg.type === 'gc') {
      collect();
      send({ type: 'gc-done' });
    } else if (msg.type === 'memory') {
      // `collect`: a full GC and the reading in one synchronous step. Between a separate
      // 'gc' and 'memory' the event loop runs, and the chunks a streamed body moves in that
      // moment (already forwarded, garbage) would be read as held: up to 2 MiB seen.
      if (msg.collect) collect();
      send({ type: 'memory', ...memory() });
    } else if (msg.type === 'profile') {
      void profile(msg.seconds, msg.file).then(() => send({ type: 'profile-done' }));
    }
  });
  send({ type: 'ready', ...ready });
}

/** A CPU profile of this process for `seconds`, written to `file` as a .cpuprofile (the in-process inspector). */
async function profile(seconds, file) {
  const inspector = require('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const { profile: result } = await post('Profiler.stop');
  require('node:fs').writeFileSync(file, JSON.stringify(result));
  session.disconnect();
}

/** A full collection, twice (the second frees what the first's finalizers let go); needs --expose-gc. */
function collect() {
  if (typeof global.gc !== 'function') return;
  global.gc();
  global.gc();
}

/**
 * The diagnostics the harness reads over IPC (never an HTTP route): process.memoryUsage(),
 * V8's heap spaces (committed and resident), and the default stream highWaterMark.
 */
function memory() {
  const v8 = require('node:v8');
  const stream = require('node:stream');
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size };
  const heap = v8.getHeapStatistics();
  return {
    ...process.memoryUsage(),
    heapPhysical: heap.total_physical_size,
    mallocedMemory: heap.malloced_memory,
    spaces,
    highWaterMark: typeof stream.getDefaultHighWaterMark === 'function' ? stream.getDefaultHighWaterMark(false) : 16384,
    node: process.version,
  };
}

/** Reports a startup failure to the harness and exits non-zero. */
function fail(err) {
  process.stderr.write(`${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
}

/**
 * Pipes two sockets to each other byte for byte, as a floor's tunnel: either one ending or
 * failing destroys both. Both are kept in `open` while they live, for the target's stop.
 */
function pipeSockets(a, b, open) {
  open.add(a).add(b);
  const end = () => {
    a.destroy();
    b.destroy();
    open.delete(a);
    open.delete(b);
  };
  a.on('error', end).on('close', end);
  b.on('error', end).on('close', end);
  a.pipe(b);
  b.pipe(a);
}

module.exports = { config, dist, listen, serve, fail, pipeSockets };

/** Resolves once the gateway has seen its upstream healthy (discovery answers 503 before that). */
function untilHealthy(gateway) {
  if (gateway.health.status === 'healthy') return Promise.resolve();
  return new Promise((resolve) => {
    const onStatus = (change) => {
      if (change.status !== 'healthy') return;
      gateway.off('status', onStatus);
      resolve();
    };
    gateway.on('status', onStatus);
  });
}

module.exports.untilHealthy = untilHealthy;

/** Resolves once the gateway's rate-limit store answers (read from its own metrics; bounded). */
async function untilStoreUp(gateway, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const metric = await gateway.registry.getSingleMetric('cryptid_gateway_rate_limit_store_up')?.get();
    if (metric?.values.some((v) => v.value === 1)) return;
    if (Date.now() > deadline) throw new Error('the rate-limit store did not come up');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

module.exports.untilStoreUp = untilStoreUp;
