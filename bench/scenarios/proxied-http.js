'use strict';
// Proxied HTTP under wrk: the upstream directly (baseline), the bare http-proxy-3 server
// (the engine's floor) and the gateway in library mode, all in front of one upstream.

const path = require('node:path');
const { request } = require('../lib/http-check');
const { interleave } = require('../lib/interleave');
const { renewable, startTarget, stopAll } = require('../lib/targets');
const { wrk } = require('../lib/wrk');
const { haveRedis, startRedis } = require('../lib/redis');
const { nginxBinary, renewableNginx, startNginx } = require('../lib/nginx');

const FINGERPRINT = `sha256:${'0'.repeat(64)}`;

/** Small GET (`/v1/ping`-like, ~100 B answer), 50 connections; also measured with a rate-limit rule that matches it. */
const smallGet = {
  id: 'small-get',
  title: 'small GET (~100 B), 50 connections',
  connections: 50,
  path: '/v1/ping',
  request: { method: 'GET' },
  check: (res) => res.status === 200 && res.body.length >= 90,
  rateLimited: true,
};

/**
 * A rule matching every request of the scenario, keyed by address (wrk's one address: one
 * hot key), with a limit no run reaches: every request is checked and counted, none refused.
 */
const BENCH_RULE = { name: 'bench', match: ['/v1/'], key: 'ip', limit: 1_000_000_000, windowMs: 60_000 };

/** 64 KiB POST (a message), 20 connections; the upstream reads it and acknowledges. */
const post64k = {
  id: 'post-64k',
  title: '64 KiB POST, 20 connections',
  connections: 20,
  path: '/v1/messages',
  request: { method: 'POST', bodyBytes: 65536, headers: { 'Content-Type': 'application/octet-stream' } },
  check: (res) => res.status === 200 && res.body.toString() === '{"received":65536}',
};

/** Starts the three targets, checks each answers the scenario's request, loads them interleaved. */
async function runProxied(ctx, shape) {
  const children = [];
  try {
    const upstream = await startTarget(ctx, 'upstream', 'upstream');
    children.push(upstream);
    const targets = [{ id: 'direct', label: 'upstream directly', child: upstream, url: upstream.url, ref: 'direct' }];
    await addNginx(ctx, shape.id, targets, children, upstream);
    const proxies = [
      ['http-proxy-3', 'bare http-proxy-3 (keep-alive agent)', 'http-proxy-3'],
      ['gateway', `gateway (library mode, ${ctx.opts.label})`, 'gateway'],
      // The floors: what the gateway's engine costs with nothing of the gateway's own, and
      // what moving the bytes costs with no HTTP at all. Figures below these need another runtime.
      ['undici-floor', 'floor: bare node:http + undici Pool (no checks, no metrics)', 'undici-floor'],
      ['lean-floor', 'floor: bare node:http + raw socket pool, hand-parsed (no checks, no metrics)', 'lean-floor'],
      ['tcp-pipe', 'floor: node:net byte pipe (no HTTP parsing)', 'tcp-pipe'],
    ];
    if (ctx.opts.compareDist) proxies.push(['gateway-compare', `gateway (library mode, ${ctx.opts.compareLabel})`, 'gateway', path.resolve(ctx.opts.compareDist)]);
    let redis;
    if (shape.rateLimited) {
      proxies.push(['gateway-limit-memory', `gateway, a matched rate-limit rule, memory store`, 'gateway', undefined, { rules: [BENCH_RULE] }]);
      if (haveRedis()) {
        try {
          redis = await startRedis(ctx);
          children.push(redis);
          proxies.push([
            'gateway-limit-redis',
            'gateway, a matched rate-limit rule, Redis store (loopback)',
            'gateway',
            undefined,
            { store: 'redis', redis: { url: redis.url }, rules: [BENCH_RULE] },
          ]);
        } catch (err) {
          ctx.warn(`${shape.id} · Redis store: redis-server did not start (${err.message.split('\n')[0]})`);
        }
      } else ctx.warn(`${shape.id} · Redis store: redis-server is not installed (Debian: apt-get install -y redis-server); not measured`);
    }
    for (const [id, label, file, dist, rateLimits] of proxies) {
      try {
        const config = { upstream: upstream.url, fingerprint: FINGERPRINT, ...(rateLimits && { rateLimits }) };
        const options = dist ? { dist, ...(ctx.opts.compareNodeArgs && { gatewayNodeArgs: ctx.opts.compareNodeArgs }) } : {};
        const child = await startTarget(ctx, id, file, config, options);
        children.push(child);
        const target = {
          id,
          label,
          child,
          upstream,
          url: child.url,
          ref: 'direct',
          engine: id !== 'http-proxy-3' ? 'http-proxy-3' : undefined,
          nginx: id !== 'http-proxy-3' ? 'nginx' : undefined,
        };
        // The Redis store's own CPU, read around the same window.
        if (id === 'gateway-limit-redis') target.extra = redis;
        // The upstream stays: it is the baseline and every proxy's upstream.
        targets.push(renewable(ctx, target, children, id, file, config, options));
      } catch (err) {
        targets.push({ id, label, failed: `did not start: ${err.message.split('\n')[0]}` });
      }
    }
    const body = shape.request.bodyBytes ? Buffer.alloc(shape.request.bodyBytes, 'x') : undefined;
    for (const t of targets) {
      if (t.failed) continue;
      try {
        const res = await request(`${t.url}${shape.path}`, { method: shape.request.method, body, headers: shape.request.headers });
        if (!shape.check(res)) t.failed = `wrong answer: ${res.status} ${res.body.toString().slice(0, 120)}`;
      } catch (err) {
        t.failed = `no answer: ${err.message}`;
      }
      if (t.failed) ctx.warn(`${shape.id} · ${t.label}: ${t.failed}`);
    }
    return await interleave(ctx, {
      scenario: shape.title,
      targets,
      measure: (t, window) => wrkWindow(ctx, `${t.url}${shape.path}`, shape.connections, shape.request, window),
    });
  } finally {
    await stopAll(children);
  }
}

/**
 * nginx as a reference proxy (one worker, keep-alive pool to the same upstream), renewed
 * before each of its runs like the Node proxies; skipped with a warning when not installed.
 */
async function addNginx(ctx, scenarioId, targets, children, upstream, options) {
  if (!nginxBinary()) {
    ctx.warn(`${scenarioId} · nginx: not installed (Debian: apt-get install -y nginx); not measured`);
    return;
  }
  const label = 'nginx (1 worker, keep-alive pool)';
  try {
    const child = await startNginx(ctx, upstream, options);
    children.push(child);
    targets.push(renewableNginx(ctx, { id: 'nginx', label, child, upstream, url: child.url, ref: 'direct' }, children, upstream, options));
  } catch (err) {
    targets.push({ id: 'nginx', label, failed: `did not start: ${err.message.split('\n')[0]}` });
  }
}

/** A warm-up wrk run, then the measured one inside the CPU window. */
async function wrkWindow(ctx, url, connections, request, window) {
  const base = { url, connections, threads: ctx.threads, core: ctx.cores.load, request };
  if (ctx.opts.warmupSeconds > 0) await wrk({ ...base, seconds: ctx.opts.warmupSeconds });
  window.start();
  const r = await wrk({ ...base, seconds: ctx.opts.seconds });
  window.end();
  return r;
}

module.exports = {
  smallGet: { ...smallGet, run: (ctx) => runProxied(ctx, smallGet) },
  post64k: { ...post64k, run: (ctx) => runProxied(ctx, post64k) },
  wrkWindow,
  addNginx,
  FINGERPRINT,
};
