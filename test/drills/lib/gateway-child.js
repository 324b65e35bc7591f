'use strict';
// The gateway under drill, in a process of its own (forked by `gateway-process.ts`), so
// that its RSS, descriptors and sockets are its own and a crash shows as an exit. It runs
// the built package (`dist/`, or DRILL_DIST) as users do, without a compiler in memory.
// Reads its setup from DRILL_GATEWAY, answers `stats`/`close` over IPC (see
// `gateway-protocol.ts`), reports status changes and certificate rotations as they happen.
const { readdirSync, readFileSync, readlinkSync } = require('node:fs');
const { createServer } = require('node:http');
const { join } = require('node:path');

const { createGateway, startServer } = require(process.env.DRILL_DIST || join(__dirname, '..', '..', '..', 'dist'));

const setup = JSON.parse(process.env.DRILL_GATEWAY || '{}');

function send(message) {
  if (process.connected) process.send(message);
}

async function start() {
  if (setup.mode === 'sidecar') {
    const running = await startServer(setup.options);
    running.on('certificate', (material) => send({ type: 'certificate', fingerprint: material.fingerprint, at: Date.now() }));
    running.on('certificateError', () => send({ type: 'certificateError', at: Date.now() }));
    return { gateway: running.gateway, server: running.server, port: running.port, close: () => running.close() };
  }
  const gateway = createGateway(setup.options);
  const server = createServer(gateway);
  server.on('upgrade', gateway.upgrade);
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    gateway,
    server,
    port: server.address().port,
    close: async () => {
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await gateway.close();
    },
  };
}

/** The pool's in-use sockets, as the gateway's own metric reports them. */
async function upstreamInUse(gateway) {
  const text = await gateway.registry.getSingleMetricAsString('cryptid_gateway_upstream_sockets');
  return Number(/state="in_use"\} (\d+)/.exec(text)?.[1] ?? -1);
}

/** This process's TCP sockets in CLOSE-WAIT (state 08 in /proc/net/tcp*), matched to its own descriptors by inode. */
function closeWait() {
  const own = new Set();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match) own.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '08' && own.has(cols[9])) count++;
    }
  }
  return count;
}

async function stats(server, gateway, quick) {
  // A full collection first (the parent forks with --expose-gc), so that RSS compares like with like.
  if (!quick && typeof global.gc === 'function') global.gc();
  const connections = await new Promise((resolve) => server.getConnections((_err, count) => resolve(count)));
  const memory = process.memoryUsage();
  return {
    pid: process.pid,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    fds: readdirSync('/proc/self/fd').length,
    sockets: process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length,
    connections,
    upstreamInUse: await upstreamInUse(gateway),
    closeWait: closeWait(),
    status: gateway.health.status,
  };
}

start().then(
  ({ gateway, server, port, close }) => {
    gateway.on('status', (change) => send({ type: 'status', status: change.status, previous: change.previous, reason: change.reason, at: Date.now() }));
    process.on('message', (message) => {
      if (message.type === 'stats') void stats(server, gateway, message.quick === true).then((value) => send({ type: 'stats', id: message.id, stats: value }));
      if (message.type === 'close') void close().then(() => process.disconnect());
    });
    // The parent went away (or is done): nothing may outlive a drill.
    process.on('disconnect', () => void close().finally(() => process.exit(0)));
    send({ type: 'ready', port, status: gateway.health.status });
  },
  (err) => {
    process.stderr.write(`drill gateway failed to start: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
