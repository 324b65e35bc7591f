'use strict';
// The floor of any Node proxy: a node:net server that pipes each client connection to a
// connection of its own to the upstream, byte for byte. No HTTP parsing, no headers
// touched, no per-request object: per request only the socket reads and writes a proxy
// cannot avoid (client in, upstream out, upstream in, client out). No Node proxy that reads
// HTTP costs less than this.

const net = require('node:net');
const { config, listen, serve, fail, pipeSockets } = require('./common');

async function main() {
  const { upstream } = config();
  const { hostname, port: upstreamPort } = new URL(upstream);
  const sockets = new Set();
  const server = net.createServer({ noDelay: true }, (client) => {
    pipeSockets(client, net.connect({ host: hostname, port: Number(upstreamPort), noDelay: true }), sockets);
  });
  const port = await listen(server);
  serve({ port, url: `http://127.0.0.1:${port}` }, async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
}

main().catch(fail);
