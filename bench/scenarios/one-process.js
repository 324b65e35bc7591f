'use strict';
// One gateway process carries every scenario in turn — first traffic, a 10 MiB POST to a
// slow reader, small GET, 64 KiB POST, WebSocket echo, idle tunnels, then discovery — and its memory is
// read throughout: RSS after start and idle 30 s after it, the peak (VmHWM, reset per phase through
// /proc/<pid>/clear_refs), process.memoryUsage() and V8's heap spaces at the highest
// sample, RSS per idle tunnel, and what one large streamed body costs. The discovery rows
// at the end compare this warmed process with a fresh bare node:http server answering the
// same bytes (interleaved, rounds); then the lean floor, warmed by the same traffic (its
// WebSocket tunnels too), is compared the same way: the part of the warmed gap any node:http
// proxy has.

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { saveAnswer, request } = require('../lib/http-check');
const { interleave } = require('../lib/interleave');
const { Daemon, NodeChild } = require('../lib/processes');
const { renewable, startTarget, stopAll } = require('../lib/targets');
const { FINGERPRINT, wrkWindow } = require('./proxied-http');
const { tunnelCount } = require('./ws-idle');
const { wrk } = require('../lib/wrk');

const ECHO = path.join(__dirname, '..', 'clients', 'ws-echo.js');
const IDLE = path.join(__dirname, '..', 'clients', 'ws-idle.js');
const BIG = 10 * 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Samples the gateway's memory over IPC every `everyMs` until stopped; keeps the sample with the highest RSS. */
function sampler(child, everyMs = 200) {
  let peak;
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const m = await child.request({ type: 'memory' }, 'memory', 5000);
        const rss = child.rssBytes();
        if (!peak || rss > peak.vmRss) peak = { ...m, vmRss: rss };
      } catch {
        // a busy moment: the next sample
      }
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return peak;
    },
  };
}

function resetPeak(pid) {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function settled(child) {
  await child.request({ type: 'gc' }, 'gc-done', 30000);
  const m = await child.request({ type: 'memory' }, 'memory', 10000);
  return { ...m, vmRss: child.rssBytes() };
}

/**
 * How long after its start a process that has had no traffic is read again: "idle". 30 s,
 * not 15: the processes read here start together on one core, and a sidecar from tsc's
 * modules, the slowest to start, read 65.3 MiB at 15 s where alone it read 59.3 (V8's memory
 * reducer had not run yet); at 30 s it read 59.1, the others as at 15 s (Node 20, 2026-12-07).
 */
const IDLE_MS = 30_000;

/**
 * The floors under the gateway's "after start": a bare node:http server, the undici floor
 * (a node:http server relaying through one undici Pool) and the lean floor (relaying over raw
 * sockets, as the gateway's own engine does), each a process of its own on the same Node with
 * the gateway's flags, started together, read after 20 requests and a pause (as the gateway is
 * read after its first probe), and again IDLE_MS after their start, with nothing sent in
 * between: V8 sizes the young generation for the allocation of start-up, and shrinks it again
 * (its memory reducer) only once the process has been quiet for some seconds.
 */
async function floors(ctx, upstream) {
  const answerFile = path.join(ctx.tmp, 'one-process-floor.json');
  fs.writeFileSync(answerFile, JSON.stringify({ status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('ok').toString('base64') }));
  const kinds = [
    { name: 'bare node:http', label: 'bare node:http', file: 'bare-bytes', config: { answerFile }, path: '/' },
    { name: 'undici floor', label: 'undici floor (node:http relaying through one undici Pool)', file: 'undici-floor', config: { upstream: upstream.url }, path: '/v1/ping' },
    { name: 'lean floor', label: 'lean floor (node:http relaying over raw sockets, hand-parsed)', file: 'lean-floor', config: { upstream: upstream.url }, path: '/v1/ping' },
  ];
  const dist = ctx.dist ?? path.join(__dirname, '..', '..', 'dist');
  const sidecars = [
    {
      name: 'sidecar (bin)',
      label: 'the sidecar as shipped: `cryptid-gateway serve`, the bin (one file, dist/cryptid-gateway.js), HTTPS, metrics listener on',
      main: 'cryptid-gateway.js',
    },
    { name: 'sidecar (tsc modules)', label: "the same sidecar run from tsc's modules (dist/cli/main.js): what the bin's single file saves", main: 'cli/main.js' },
  ].map((s) => ({ ...s, sidecar: true, path: '/v1/ping', start: () => startSidecar(ctx, upstream, path.join(dist, s.main)) }));
  const read = await Promise.all(
    [...kinds, ...sidecars].map(async (kind) => {
      const startedAt = Date.now();
      let child;
      try {
        child = kind.start ? await kind.start() : await startTarget(ctx, `floor ${kind.file}`, kind.file, kind.config, { gatewayFlags: true });
        for (let i = 0; i < 20; i++) {
          const res = await request(`${child.url}${kind.path}`);
          if (res.status !== 200) throw new Error(`answered ${res.status}: ${res.body.toString().slice(0, 100)}`);
        }
        await sleep(500);
        const vmRss = child.rssBytes();
        await sleep(startedAt + IDLE_MS - Date.now());
        return { name: kind.name, label: kind.label, sidecar: kind.sidecar, vmRss, idleRss: child.rssBytes(), idleAfterS: (Date.now() - startedAt) / 1000 };
      } catch (err) {
        ctx.warn(`one process · ${kind.sidecar ? kind.name : `floor ${kind.file}`}: ${err.message.split('\n')[0]}`);
        return undefined;
      } finally {
        await child?.stop();
      }
    }),
  );
  return read.filter(Boolean);
}

/**
 * `node <flags> MAIN serve` as the image runs it (the gateway's Node flags and environment,
 * HTTPS with the bench certificate, the metrics listener on, info logs), in front of
 * `upstream`; resolves once it logs where it listens.
 */
async function startSidecar(ctx, upstream, main) {
  const args = ['serve', '--upstream', upstream.url, '--server-name', 'bench.example.com', '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'];
  args.push('--tls-cert', ctx.cert.cert, '--tls-key', ctx.cert.key, '--log-level', 'info');
  const argv = [ctx.node ?? process.execPath, ...(ctx.opts.gatewayNodeArgs ?? []), main, ...args];
  const daemon = new Daemon(`sidecar ${path.basename(main)}`, argv, { core: ctx.cores.targets, readyLine: '"event":"listening"', env: ctx.opts.gatewayEnv });
  try {
    const out = await daemon.ready;
    const line = out.split('\n').find((l) => l.includes('"event":"listening"'));
    daemon.url = JSON.parse(line).url;
    return daemon;
  } catch (err) {
    daemon.kill();
    throw err;
  }
}

/**
 * The sidecar as shipped under load: a fresh `cryptid-gateway serve` (the bin, HTTPS, its
 * metrics listener and logs) carries small GETs, then 64 KiB POSTs, and its peak (VmHWM) is
 * read over each. The phases below are library mode over plain HTTP; a pod runs this process,
 * with TLS's buffers and the bin's own heap sizing (under HTTPS V8 let its old generation
 * grow from 8 to over 30 MiB of garbage before its next full collection: docs/operations.md,
 * Memory).
 */
async function sidecarUnderLoad(ctx, upstream) {
  const dist = ctx.dist ?? path.join(__dirname, '..', '..', 'dist');
  let sidecar;
  try {
    sidecar = await startSidecar(ctx, upstream, path.join(dist, 'cryptid-gateway.js'));
    const start = { vmRss: sidecar.rssBytes(), vmHwm: sidecar.peakRssBytes() };
    const canReset = resetPeak(sidecar.pid);
    const loads = [
      ['small GET, 50 connections', '/v1/ping', 50, { method: 'GET' }],
      ['64 KiB POST, 20 connections', '/v1/messages', 20, { method: 'POST', bodyBytes: 65536, headers: { 'Content-Type': 'application/octet-stream' } }],
    ];
    const phases = [];
    for (const [name, urlPath, connections, request] of loads) {
      if (canReset) resetPeak(sidecar.pid);
      const r = await wrkCpu(ctx, sidecar, urlPath, connections, request);
      phases.push({ name, ...r, vmHwm: sidecar.peakRssBytes(), after: sidecar.rssBytes() });
    }
    return { start, phases, canReset, peakRss: Math.max(start.vmHwm, ...phases.map((p) => p.vmHwm)) };
  } catch (err) {
    ctx.warn(`one process · the sidecar under load: ${err.message.split('\n')[0]}`);
    return undefined;
  } finally {
    await sidecar?.stop();
  }
}

/** One warmed wrk run against `target` (a child with a url): req/s, p99, errors and the target's CPU µs per request over the measured run. */
async function wrkCpu(ctx, target, urlPath, connections, request) {
  const window = { start: () => (window.cpu0 = target.cpuSeconds()), end: () => (window.cpu1 = target.cpuSeconds()) };
  const r = await wrkWindow(ctx, `${target.url}${urlPath}`, connections, request, window);
  return { rps: r.rps, p99Ms: r.p99Ms, errors: r.errors, cpuUs: ((window.cpu1 - window.cpu0) / r.requests) * 1e6 };
}

/** Streams `bytes` to `url` in 64 KiB writes, honouring backpressure; resolves with the answer. */
function bigPost(url, bytes) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': bytes } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(65536, 'x');
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

async function echoRun(ctx, gateway) {
  const { seconds, warmupSeconds } = ctx.opts;
  const client = new NodeChild('ws-echo client', ECHO, {
    args: [JSON.stringify({ url: `${gateway.url.replace(/^http/, 'ws')}/v1/stream`, connections: 50, warmupSeconds, seconds, messageBytes: 128 })],
    core: ctx.cores.load,
  });
  client.ready.catch(() => undefined);
  try {
    const limit = (warmupSeconds + seconds + 20) * 1000;
    const measuring = client.message('measuring', limit);
    const result = client.message('result', limit);
    result.catch(() => undefined);
    await measuring;
    const cpu0 = gateway.cpuSeconds();
    const r = await result;
    return { ...r, cpuUs: ((gateway.cpuSeconds() - cpu0) / r.requests) * 1e6 };
  } finally {
    await client.stop(2000);
  }
}

/**
 * Opens `count` idle WebSocket tunnels through `target` (64 at a time), holds them for
 * `--hold` seconds and closes them; `between(opened)` runs while they are held.
 */
async function idleTunnels(ctx, target, count, nofile, children, between = async () => undefined) {
  const client = new NodeChild('ws-idle client', IDLE, { core: ctx.cores.load, nofile });
  children.push(client);
  await client.ready;
  const url = `${target.url.replace(/^http/, 'ws')}/v1/stream`;
  const opened = await client.request({ type: 'open', url, count, concurrency: 64 }, 'opened', 300000);
  await sleep(ctx.opts.holdSeconds * 1000);
  const held = await between(opened.opened);
  await client.request({ type: 'close' }, 'closed', 120000);
  await client.stop();
  return { opened: opened.opened, held };
}

/**
 * Streams a 10 MiB POST through `target` to the upstream's slow reader and samples the
 * target's memory every 20 ms: the highest readings above its level before (after a full
 * GC), as the process runs (`collect` false: forwarded chunks wait as garbage for the next
 * collection) or with a full GC before every reading (`collect` true: what it holds).
 */
async function bigRun(target, collect) {
  const before = await settled(target);
  let max = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  let running = true;
  const watch = (async () => {
    while (running) {
      try {
        const m = await target.request({ type: 'memory', collect }, 'memory', 5000);
        const rss = target.rssBytes();
        max = {
          rss: Math.max(max.rss, rss),
          heapUsed: Math.max(max.heapUsed, m.heapUsed),
          external: Math.max(max.external, m.external),
          arrayBuffers: Math.max(max.arrayBuffers, m.arrayBuffers),
        };
      } catch {
        // next sample
      }
      await sleep(20);
    }
  })();
  const t0 = Date.now();
  const answer = await bigPost(`${target.url}/v1/slow`, BIG);
  const ms = Date.now() - t0;
  running = false;
  await watch;
  if (answer.status !== 200 || answer.body !== `{"received":${BIG}}`) throw new Error(`10 MiB POST: ${answer.status} ${answer.body.slice(0, 100)}`);
  return {
    bytes: BIG,
    ms,
    highWaterMark: before.highWaterMark,
    rss: max.rss - before.vmRss,
    heapUsed: max.heapUsed - before.heapUsed,
    external: max.external - before.external,
    arrayBuffers: max.arrayBuffers - before.arrayBuffers,
  };
}

/**
 * The floor under what the gateway holds of a streamed body: a fresh node:net byte pipe
 * (no HTTP, no per-request object) carrying the same 10 MiB POSTs, read the same way.
 * Node reads a socket 64 KiB at a time whatever the stream's highWaterMark, and a relay
 * under backpressure holds the read being written and the one read after it.
 */
async function pipeHolds(ctx, upstream) {
  let pipe;
  try {
    pipe = await startTarget(ctx, 'tcp-pipe-held', 'tcp-pipe', { upstream: upstream.url }, { nodeArgs: ['--expose-gc'] });
    return { live: await bigRun(pipe, false), held: await bigRun(pipe, true) };
  } catch (err) {
    ctx.warn(`one process · the byte pipe's 10 MiB POSTs: ${err.message.split('\n')[0]}`);
    return undefined;
  } finally {
    await pipe?.stop();
  }
}

/**
 * The gateway's phases, without their readings, for the lean floor: the two 10 MiB POSTs,
 * small GETs, 64 KiB POSTs, WebSocket echo and the idle tunnels, so that the floor under
 * the warmed discovery row has carried the same traffic.
 */
async function warmLoads(ctx, target, count, nofile, children) {
  for (let i = 0; i < 2; i++) {
    const answer = await bigPost(`${target.url}/v1/slow`, BIG);
    if (answer.status !== 200) throw new Error(`${target.name}: 10 MiB POST answered ${answer.status}`);
  }
  const seconds = ctx.opts.warmupSeconds + ctx.opts.seconds;
  await wrk({ url: `${target.url}/v1/ping`, connections: 50, threads: ctx.threads, core: ctx.cores.load, seconds, request: { method: 'GET' } });
  await wrk({
    url: `${target.url}/v1/messages`,
    connections: 20,
    threads: ctx.threads,
    core: ctx.cores.load,
    seconds,
    request: { method: 'POST', bodyBytes: 65536, headers: { 'Content-Type': 'application/octet-stream' } },
  });
  await echoRun(ctx, target);
  await idleTunnels(ctx, target, count, nofile, children);
}

async function run(ctx) {
  const children = [];
  const { count, nofile, note } = tunnelCount(ctx.opts.tunnels);
  try {
    const upstream = await startTarget(ctx, 'upstream', 'upstream', {}, { nofile });
    children.push(upstream);
    const config = { upstream: upstream.url, fingerprint: FINGERPRINT, proxy: { maxBodyBytes: 2 * BIG } };
    const gateway = await startTarget(ctx, 'gateway', 'gateway', config, { nodeArgs: ['--expose-gc'], nofile });
    children.push(gateway);
    // Ready means the first probe has answered; nothing else has happened yet.
    const readyAt = Date.now();
    const idle = { ...(await gateway.request({ type: 'memory' }, 'memory', 10000)), vmRss: gateway.rssBytes(), vmHwm: gateway.peakRssBytes() };
    const canReset = resetPeak(gateway.pid);
    ctx.progress('one process · floors under "after start", and all of them idle');
    const floorsAfterStart = await floors(ctx, upstream);
    await sleep(readyAt + IDLE_MS - Date.now());
    // Read once the floors are done, so a little later than IDLE_MS: the report says when.
    idle.idleRss = gateway.rssBytes();
    idle.idleAfterS = (Date.now() - readyAt) / 1000;
    ctx.progress('one process · the sidecar as shipped (the bin, HTTPS) under small GETs and 64 KiB POSTs');
    const sidecarLoads = await sidecarUnderLoad(ctx, upstream);
    const phases = [];
    const phase = async (name, fn) => {
      ctx.progress(`one process · ${name}`);
      if (canReset) resetPeak(gateway.pid);
      const sampling = sampler(gateway);
      let figures;
      try {
        figures = await fn();
      } catch (err) {
        ctx.warn(`one process · ${name}: ${err.message.split('\n')[0]}`);
        figures = { failed: err.message.split('\n')[0] };
      }
      const peak = await sampling.stop();
      const entry = { name, ...figures, vmHwm: gateway.peakRssBytes(), peak, after: gateway.rssBytes() };
      phases.push(entry);
      return entry;
    };
    const wrkPhase = (name, urlPath, connections, request) => phase(name, () => wrkCpu(ctx, gateway, urlPath, connections, request));
    let big;
    // undici's HTTP parser is WebAssembly: its first traffic gets it compiled again by the
    // optimizing tier in the background, a transient of its own, kept out of the phases below.
    await phase('first traffic: 1 s of small GETs, then 3 s idle', async () => {
      await wrk({ url: `${gateway.url}/v1/ping`, connections: 10, threads: ctx.threads, core: ctx.cores.load, seconds: 1, request: { method: 'GET' } });
      await sleep(3000);
      return { rps: NaN };
    });
    // Then, while RSS is still near its level at start, so that the delta shows; twice: as
    // the process lives it (received chunks wait for the next collection as garbage) and with
    // a full GC before every reading (what the gateway holds).
    await phase('10 MiB POST to a slow reader (twice)', async () => {
      big = { live: await bigRun(gateway, false), held: await bigRun(gateway, true) };
      return { rps: NaN };
    });
    // Only beside a gateway reading: a failed one (warned above) has nothing to compare.
    if (big) big.pipe = await pipeHolds(ctx, upstream);

    await wrkPhase('small GET, 50 connections', '/v1/ping', 50, { method: 'GET' });
    await wrkPhase('64 KiB POST, 20 connections', '/v1/messages', 20, { method: 'POST', bodyBytes: 65536, headers: { 'Content-Type': 'application/octet-stream' } });
    await phase('WebSocket echo, 50 tunnels', () => echoRun(ctx, gateway));

    let tunnels;
    await phase(`idle tunnels, ${count.toLocaleString('en-US')}`, async () => {
      const before = await settled(gateway);
      const { opened: n, held } = await idleTunnels(ctx, gateway, count, nofile, children, () => settled(gateway));
      tunnels = {
        requested: ctx.opts.tunnels,
        opened: n,
        before,
        held,
        rssPerTunnel: (held.vmRss - before.vmRss) / n,
        heapPerTunnel: (held.heapUsed - before.heapUsed) / n,
        externalPerTunnel: (held.external - before.external) / n,
      };
      return { rps: NaN };
    });

    // Discovery last, in the process that carried everything above, beside a fresh bare server.
    ctx.progress('one process · discovery (warmed gateway vs bare node:http)');
    const answerFile = path.join(ctx.tmp, 'one-process-bare.json');
    const answer = await saveAnswer(`${gateway.url}/.well-known/cryptid`, answerFile);
    const bareConfig = { answerFile };
    const bare = await startTarget(ctx, 'bare-http', 'bare-bytes', bareConfig);
    children.push(bare);
    if (canReset) resetPeak(gateway.pid);
    const discovery = await interleave(ctx, {
      scenario: 'one process · discovery in the warmed gateway, 50 connections',
      targets: [
        renewable(
          ctx,
          { id: 'bare-http', label: `bare node:http, same bytes (${answer.bytes} B; fresh process)`, child: bare, url: bare.url, ref: 'bare-http' },
          children,
          'bare-http',
          'bare-bytes',
          bareConfig,
        ),
        { id: 'gateway-warmed', label: 'gateway, the process that carried every phase above', child: gateway, url: gateway.url, ref: 'bare-http' },
      ],
      measure: (t, window) => wrkWindow(ctx, `${t.url}/.well-known/cryptid`, 50, { method: 'GET' }, window),
    });
    phases.push({ name: 'discovery, 50 connections', vmHwm: gateway.peakRssBytes(), after: gateway.rssBytes(), rps: discovery.targets[1]?.rps });
    const end = await settled(gateway);
    // The floor for "warmed", once the gateway's own figures are read (a process that waits
    // beside one under load is slower afterwards: measured between the gateway's phases, it
    // changed them): the lean floor answering the same bytes from a buffer after the same
    // traffic (HTTP loads, WebSocket echo, idle tunnels), against a fresh bare server again.
    // What it loses is node:http's, not the gateway's.
    ctx.progress('one process · the lean floor, carrying the same traffic');
    const lean = await startTarget(ctx, 'lean-floor-warmed', 'lean-floor', { upstream: upstream.url, answerFile }, { nofile });
    children.push(lean);
    await warmLoads(ctx, lean, count, nofile, children);
    const floorBare = await startTarget(ctx, 'bare-http', 'bare-bytes', bareConfig);
    children.push(floorBare);
    const floorDiscovery = await interleave(ctx, {
      scenario: 'one process · discovery in the warmed lean floor, 50 connections',
      targets: [
        renewable(
          ctx,
          { id: 'bare-http', label: 'bare node:http, same bytes (fresh process)', child: floorBare, url: floorBare.url, ref: 'bare-http' },
          children,
          'bare-http',
          'bare-bytes',
          bareConfig,
        ),
        {
          id: 'lean-floor-warmed',
          label: 'floor: lean floor answering the same bytes after the same traffic (against a fresh bare server of its own rounds)',
          child: lean,
          url: lean.url,
          ref: 'bare-http',
        },
      ],
      measure: (t, window) => wrkWindow(ctx, `${t.url}/.well-known/cryptid`, 50, { method: 'GET' }, window),
    });
    const peakPhase = phases.reduce((a, b) => (b.vmHwm > (a?.vmHwm ?? 0) ? b : a), undefined);
    // Discovery runs after the tunnels have closed, in the memory they left: it is not "without tunnels".
    const tunnelPhase = phases.findIndex((p) => p.name.startsWith('idle tunnels'));
    const nonTunnel = tunnelPhase === -1 ? phases : phases.slice(0, tunnelPhase);
    return {
      scenario: 'one process · discovery in the warmed gateway, 50 connections',
      oneProcess: {
        node: idle.node,
        note,
        canReset,
        idle,
        floors: floorsAfterStart,
        sidecarLoads,
        phases,
        peakRss: Math.max(idle.vmHwm, ...phases.map((p) => p.vmHwm)),
        peakRssWithoutTunnels: Math.max(idle.vmHwm, ...nonTunnel.map((p) => p.vmHwm)),
        peakPhase: peakPhase?.name,
        peakSample: peakPhase?.peak,
        tunnels,
        big,
        end,
      },
      targets: [...discovery.targets, ...floorDiscovery.targets.filter((t) => t.id === 'lean-floor-warmed')],
    };
  } finally {
    await stopAll(children);
  }
}

module.exports = { oneProcess: { id: 'one-process', title: 'one process: memory over every scenario', run }, bigPost, BIG };
