'use strict';
// Idle WebSocket tunnels: open N through the proxy, hold them, read the proxy's RSS and
// heap (after a full GC), close them all, and check every socket is gone from the proxy
// and the upstream (/proc/<pid>/fd). The bare http-proxy-3 server is measured the same way
// for reference.

const path = require('node:path');
const { NodeChild, openFilesLimit, canRaiseOpenFiles } = require('../lib/processes');
const { startTarget, stopAll } = require('../lib/targets');
const { FINGERPRINT } = require('./proxied-http');
const { nginxBinary, startNginx } = require('../lib/nginx');

const CLIENT = path.join(__dirname, '..', 'clients', 'ws-idle.js');
const CONCURRENCY = 64;

/**
 * How many tunnels fit: the proxy holds two sockets per tunnel under RLIMIT_NOFILE. When
 * the hard limit is too low the children are started under `prlimit` if that is allowed;
 * otherwise the count is capped and the report says so.
 */
function tunnelCount(requested) {
  const { hard } = openFilesLimit();
  const needed = 2 * requested + 256;
  if (needed <= hard) return { count: requested };
  if (canRaiseOpenFiles(needed)) return { count: requested, nofile: needed };
  const fit = Math.floor((hard - 256) / 2);
  return {
    count: fit,
    note: `${requested.toLocaleString('en-US')} tunnels requested; capped at ${fit.toLocaleString('en-US')} because the proxy holds 2 sockets per tunnel, the open-files hard limit (RLIMIT_NOFILE) is ${hard} and raising it (\`prlimit --nofile\`, needs CAP_SYS_RESOURCE) was refused.`,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForSockets(children, expected, timeoutMs) {
  const t0 = Date.now();
  for (;;) {
    const counts = children.map((c) => c.fds().sockets);
    if (counts.every((n, i) => n <= expected[i])) return { ms: Date.now() - t0, counts, gone: true };
    if (Date.now() - t0 > timeoutMs) return { ms: Date.now() - t0, counts, gone: false };
    await sleep(100);
  }
}

async function memory(child) {
  // nginx has no heap to collect and no IPC channel: its worker's RSS only.
  if (!child.request) return { rss: child.rssBytes(), heap: NaN, external: NaN };
  await child.request({ type: 'gc' }, 'gc-done', 30000);
  const m = await child.request({ type: 'memory' }, 'memory', 10000);
  return { rss: child.rssBytes(), heap: m.heapUsed, external: m.external };
}

async function measureOne(ctx, upstream, id, label, n, nofile) {
  const children = [];
  try {
    const proxy =
      id === 'nginx'
        ? await startNginx(ctx, upstream, { connections: 2 * n + 256 })
        : await startTarget(ctx, id, id, { upstream: upstream.url, fingerprint: FINGERPRINT }, { nodeArgs: ['--expose-gc'], nofile });
    children.push(proxy);
    const client = new NodeChild('ws-idle client', CLIENT, { core: ctx.cores.load, nofile });
    children.push(client);
    await client.ready;
    const url = `${proxy.url.replace(/^http/, 'ws')}/v1/stream`;
    const cycle = async (count) => {
      const opened = await client.request({ type: 'open', url, count, concurrency: CONCURRENCY }, 'opened', 300000);
      return opened;
    };
    const close = () => client.request({ type: 'close' }, 'closed', 120000);

    // Warm-up: the code paths run and lazily built state exists before the baseline.
    ctx.progress(`idle tunnels · ${label} · warm-up`);
    await cycle(200);
    await close();
    await sleep(500);
    const before = await memory(proxy);
    const fdsBefore = proxy.fds();
    const upBefore = upstream.fds();

    ctx.progress(`idle tunnels · ${label} · opening ${n}`);
    const opened = await cycle(n);
    await sleep(ctx.opts.holdSeconds * 1000);
    const held = await memory(proxy);
    const fdsHeld = proxy.fds();

    ctx.progress(`idle tunnels · ${label} · closing`);
    const closed = await close();
    const drained = await waitForSockets([proxy, upstream], [fdsBefore.sockets, upBefore.sockets], 30000);
    const fdsAfter = proxy.fds();
    return {
      id,
      label,
      requested: n,
      opened: opened.opened,
      failed: opened.failed,
      firstError: opened.firstError,
      openMs: opened.ms,
      rssBefore: before.rss,
      rssHeld: held.rss,
      rssPerTunnel: opened.opened > 0 ? (held.rss - before.rss) / opened.opened : NaN,
      heapPerTunnel: opened.opened > 0 ? (held.heap - before.heap) / opened.opened : NaN,
      socketsBefore: fdsBefore.sockets,
      socketsHeld: fdsHeld.sockets,
      socketsAfter: fdsAfter.sockets,
      upstreamSocketsBefore: upBefore.sockets,
      upstreamSocketsAfter: drained.counts[1],
      closeMs: closed.ms,
      allGone: drained.gone,
      drainMs: drained.ms,
    };
  } catch (err) {
    ctx.warn(`idle tunnels · ${label}: ${err.message}`);
    return { id, label, requested: n, failedRun: err.message.split('\n')[0] };
  } finally {
    await stopAll(children);
  }
}

async function run(ctx) {
  const { count, nofile, note } = tunnelCount(ctx.opts.tunnels);
  if (note) ctx.warn(note);
  const children = [];
  try {
    const upstream = await startTarget(ctx, 'upstream', 'upstream', {}, { nofile });
    children.push(upstream);
    const results = [];
    results.push(await measureOne(ctx, upstream, 'gateway', `gateway (library mode, ${ctx.opts.label})`, count, nofile));
    results.push(await measureOne(ctx, upstream, 'http-proxy-3', 'bare http-proxy-3', count, nofile));
    if (nginxBinary()) results.push(await measureOne(ctx, upstream, 'nginx', 'nginx (1 worker)', count, nofile));
    return { scenario: 'idle WebSocket tunnels', idle: results, note, asked: ctx.opts.tunnels };
  } finally {
    await stopAll(children);
  }
}

module.exports = { wsIdle: { id: 'ws-idle', title: 'idle WebSocket tunnels', run }, tunnelCount };
