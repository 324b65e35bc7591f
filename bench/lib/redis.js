'use strict';
// The redis-server behind the gateway's Redis-store target: on loopback, no persistence,
// pinned to the targets' core like the upstream (it is the gateway's dependency, as the
// upstream is), killed with everything else the harness started.

const { spawnSync } = require('node:child_process');
const net = require('node:net');
const { Daemon } = require('./processes');

/** True when redis-server is on the PATH. */
function haveRedis() {
  return spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
}

/** A port that was free a moment ago (redis-server takes a fixed port). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server; resolves with the Daemon, its `url` set, once it accepts connections. */
async function startRedis(ctx) {
  const port = await freePort();
  const redis = new Daemon('redis-server', ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', ctx.tmp], {
    core: ctx.cores.targets,
    readyLine: 'Ready to accept connections',
  });
  await redis.ready;
  redis.url = `redis://127.0.0.1:${port}`;
  return redis;
}

module.exports = { haveRedis, startRedis, freePort };
