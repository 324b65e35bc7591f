'use strict';
// The gateway under drill, in a process of its own (forked by `gateway-process.ts`), so
// that its RSS, descriptors and sockets are its own and a crash shows as an exit. It runs
// the built package (`dist/`, or DRILL_DIST) as users do, without a compiler in memory.
// Reads its setup from DRILL_GATEWAY, answers `stats`/`close` over IPC (see
// `gateway-protocol.ts`), reports status changes and certificate rotations as they happen.
const { readdirSync } = require('node:fs');
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

async function stats(server, gateway) {
  // A full collection first (the parent forks with --expose-gc), so that RSS compares like with like.
  if (typeof global.gc === 'function') global.gc();
  const connections = await new Promise((resolve) => server.getConnections((_err, count) => resolve(count)));
  const memory = process.memoryUsage();
  return {
    pid: process.pid,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    fds: readdirSync('/proc/self/fd').length,
    sockets: process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length,
    connections,
    status: gateway.health.status,
  };
}

start().then(
  ({ gateway, server, port, close }) => {
    gateway.on('status', (change) => send({ type: 'status', status: change.status, previous: change.previous, reason: change.reason, at: Date.now() }));
    process.on('message', (message) => {
      if (message.type === 'stats') void stats(server, gateway).then((value) => send({ type: 'stats', id: message.id, stats: value }));
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
