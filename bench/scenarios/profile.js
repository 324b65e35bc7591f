'use strict';
// Where the CPU goes on the small GET: the gateway target, then the bare http-proxy-3
// server for comparison, each under `node --cpu-prof` for one run; self time per request
// by function and by origin.

const fs = require('node:fs');
const path = require('node:path');
const { summarize } = require('../lib/profile');
const { startTarget, stopAll } = require('../lib/targets');
const { wrk } = require('../lib/wrk');
const { FINGERPRINT } = require('./proxied-http');

async function profileOne(ctx, upstream, id) {
  const dir = fs.mkdtempSync(path.join(ctx.tmp, `cpuprof-${id}-`));
  const child = await startTarget(ctx, id, id, { upstream: upstream.url, fingerprint: FINGERPRINT }, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  try {
    const base = { url: `${child.url}/v1/ping`, connections: 50, threads: ctx.threads, core: ctx.cores.load };
    ctx.progress(`profile · ${id} · small GET`);
    const warm = await wrk({ ...base, seconds: Math.max(1, ctx.opts.warmupSeconds) });
    const r = await wrk({ ...base, seconds: ctx.opts.seconds });
    await child.stop(10000);
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`${id} wrote no .cpuprofile`);
    // The profile spans the warm-up and the run: per-request figures divide by both.
    return { id, rps: r.rps, requests: warm.requests + r.requests, ...summarize(path.join(dir, file), 25) };
  } finally {
    await child.stop();
  }
}

async function run(ctx) {
  const children = [];
  try {
    const upstream = await startTarget(ctx, 'upstream', 'upstream');
    children.push(upstream);
    const gateway = await profileOne(ctx, upstream, 'gateway');
    const engine = await profileOne(ctx, upstream, 'http-proxy-3').catch((err) => {
      ctx.warn(`profile · http-proxy-3: ${err.message}`);
      return undefined;
    });
    return { scenario: 'profile', gateway, engine };
  } finally {
    await stopAll(children);
  }
}

module.exports = { profile: { id: 'profile', title: 'CPU profile (small GET)', run } };
