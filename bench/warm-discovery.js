'use strict';
// Discovery's CPU per request in one gateway process as it lives: fresh, then after each load
// of LOADS in turn (two 10 MiB POSTs, small GETs, 64 KiB POSTs, 15 s idle, WebSocket echo),
// after TUNNELS idle WebSocket tunnels opened and closed, and (GC=1) after a full GC: which
// load leaves discovery slower, and whether the garbage it left is why. CPU µs/req is
// utime+stime of the gateway's process from /proc, as in the bench. PROFILE=DIR writes a 3 s
// CPU profile (in-process inspector, 100 µs sampling) of each discovery phase into DIR;
// PERF=DIR a 3 s `perf record -g` of each (native frames too: builtins, runtime calls, the
// collector, which the inspector folds into their JavaScript caller; add --perf-basic-prof
// to FLAGS for the JavaScript frames' names). TARGET=lean-floor runs the same on the lean
// floor answering the gateway's discovery bytes (it relays WebSocket tunnels too): how much
// of the slowdown any node:http proxy would see.
//
//   node bench/warm-discovery.js                      (LOADS=big,get,post,echo TUNNELS=5000, the image's flags)
//   LOADS=get TUNNELS=0 PROFILE=/tmp/prof node bench/warm-discovery.js
//   GC=1 TUNNELS=9000 FLAGS='--max-semi-space-size=2 --heap-growing-percent=20' node bench/warm-discovery.js
//   NODE_BIN=/path/to/node24/bin/node node bench/warm-discovery.js

const path = require('node:path');
const { spawn } = require('node:child_process');
const { nodeFlags, nodeEnv } = require('../scripts/node-flags');
const fs = require('node:fs');
const os = require('node:os');
const { replayedAnswer, startTarget, stopAll } = require('./lib/targets');
const { wrk, cleanup } = require('./lib/wrk');
const { cpuSeconds, installCleanup, NodeChild } = require('./lib/processes');
const { bigPost, BIG } = require('./scenarios/one-process');

const FINGERPRINT = `sha256:${'0'.repeat(64)}`;
const TUNNELS = Number(process.env.TUNNELS || 5000);
const NOFILE = 20000;
const POST = { method: 'POST', bodyBytes: 65536, headers: { 'Content-Type': 'application/octet-stream' } };

async function main() {
  installCleanup();
  // NODE_BIN: the gateway and upstream run on that Node (the harness stays on its own).
  // The gateway and its floors in the launchers' environment (scripts/node-env.txt), as in `npm run bench`.
  const ctx = { cores: { load: 1, targets: 0 }, dist: path.join(__dirname, '..', 'dist'), node: process.env.NODE_BIN || undefined, opts: { gatewayEnv: nodeEnv() } };
  const flags = process.env.FLAGS !== undefined ? process.env.FLAGS.split(/\s+/).filter(Boolean) : nodeFlags();
  const upstream = await startTarget(ctx, 'upstream', 'upstream', {}, { nofile: NOFILE });
  const config = { upstream: upstream.url, fingerprint: FINGERPRINT, proxy: { maxBodyBytes: 2 * BIG } };
  // TARGET=lean-floor: the lean floor answering the gateway's discovery bytes between the
  // requests and tunnels it relays.
  const target = process.env.TARGET || 'gateway';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cryptid-warm-'));
  if (target !== 'gateway') config.answerFile = await replayedAnswer(ctx, 'gateway', undefined, config, '/.well-known/cryptid', tmp);
  const gw = await startTarget(ctx, target, target, config, { nodeArgs: [...flags, '--expose-gc'], nofile: NOFILE });
  const url = (p) => `${gw.url}${p}`;
  try {
    /** 2 s of warm-up, then three 4 s runs of discovery at 50 connections. */
    const discovery = async (label) => {
      await wrk({ url: url('/.well-known/cryptid'), connections: 50, seconds: 2, core: 1 });
      const runs = [];
      if (process.env.PERF) {
        const file = path.join(process.env.PERF, `${label.replace(/\W+/g, '-')}.perf.data`);
        const perf = spawn('perf', ['record', '-g', '-F', '2000', '-p', String(gw.pid), '-o', file, '--', 'sleep', '3'], { stdio: 'ignore' });
        const done = new Promise((resolve) => {
          perf.once('error', resolve);
          perf.once('exit', () => resolve(null));
        });
        await wrk({ url: url('/.well-known/cryptid'), connections: 50, seconds: 4, core: 1 });
        const failed = await done;
        if (failed) throw new Error(`perf: ${failed.message} (Debian: apt-get install linux-perf)`);
      }
      if (process.env.PROFILE) {
        const file = path.join(process.env.PROFILE, `${label.replace(/\W+/g, '-')}.cpuprofile`);
        const done = gw.request({ type: 'profile', seconds: 3, file }, 'profile-done', 20000);
        await wrk({ url: url('/.well-known/cryptid'), connections: 50, seconds: 4, core: 1 });
        await done;
      }
      for (let i = 0; i < 3; i++) {
        const before = cpuSeconds(gw.pid);
        const r = await wrk({ url: url('/.well-known/cryptid'), connections: 50, seconds: 4, core: 1 });
        runs.push(`${Math.round(r.rps)} req/s ${(((cpuSeconds(gw.pid) - before) * 1e6) / r.requests).toFixed(1)} µs`);
      }
      const m = await gw.request({ type: 'memory' }, 'memory', 5000);
      console.log(`${label.padEnd(30)} ${runs.join(' | ')}  heap used ${(m.heapUsed / 2 ** 20).toFixed(1)} MiB`);
    };
    /** 5 s of WebSocket echo over 50 tunnels, as the bench's one-process run has. */
    const echo = async (wsUrl) => {
      const client = new NodeChild('ws-echo client', path.join(__dirname, 'clients', 'ws-echo.js'), {
        args: [JSON.stringify({ url: `${wsUrl}`, connections: 50, warmupSeconds: 1, seconds: 5, messageBytes: 128 })],
        core: 1,
      });
      client.ready.catch(() => undefined);
      try {
        await client.message('result', 30000);
      } finally {
        await client.stop(2000);
      }
    };
    console.log(`${target}: node ${flags.join(' ')}`);
    await discovery('fresh');
    const loads = {
      big: ['two 10 MiB POSTs', async () => (await bigPost(url('/v1/slow'), BIG), await bigPost(url('/v1/slow'), BIG))],
      get: ['small GETs', () => wrk({ url: url('/v1/ping'), connections: 50, seconds: 5, core: 1 })],
      post: ['64 KiB POSTs', () => wrk({ url: url('/v1/messages'), connections: 20, seconds: 5, core: 1, request: POST })],
      idle: ['15 s idle', () => new Promise((resolve) => setTimeout(resolve, 15000))],
      echo: ['WebSocket echo', () => echo(url('/v1/stream').replace(/^http/, 'ws'))],
    };
    for (const name of (process.env.LOADS ?? 'big,get,post,echo').split(',').filter(Boolean)) {
      const [label, load] = loads[name];
      await load();
      await discovery(`after ${label}`);
    }
    if (!TUNNELS) return;
    const client = new NodeChild('ws-idle client', path.join(__dirname, 'clients', 'ws-idle.js'), { core: 1, nofile: NOFILE });
    await client.ready;
    const opened = await client.request({ type: 'open', url: url('/v1/stream').replace(/^http/, 'ws'), count: TUNNELS, concurrency: 64 }, 'opened', 300000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await client.request({ type: 'close' }, 'closed', 120000);
    await client.stop();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await discovery(`after ${opened.opened} tunnels`);
    if (process.env.GC) {
      const m = await gw.request({ type: 'memory', collect: true }, 'memory', 30000);
      console.log(`after a full GC: heap used ${(m.heapUsed / 2 ** 20).toFixed(1)} MiB`);
      await discovery('after the tunnels and a full GC');
    }
  } finally {
    await stopAll([gw, upstream]);
    fs.rmSync(tmp, { recursive: true, force: true });
    cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
