'use strict';
// The engine's floor: the smallest sensible http-proxy-3 reverse proxy, with a keep-alive
// agent, no header rules, no metrics, no health; 502 on an upstream error.

const http = require('node:http');
const { createProxyServer } = require('http-proxy-3');
const { config, listen, serve, fail } = require('./common');

async function main() {
  const { upstream } = config();
  const agent = new http.Agent({ keepAlive: true });
  const proxy = createProxyServer({ target: upstream, agent, ws: true });
  proxy.on('error', (_err, _req, res) => {
    if (res && typeof res.writeHead === 'function' && !res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    } else if (res && typeof res.destroy === 'function') res.destroy();
  });
  const server = http.createServer((req, res) => proxy.web(req, res));
  server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head));
  const port = await listen(server);
  serve({ port, url: `http://127.0.0.1:${port}` }, async () => {
    server.closeAllConnections();
    agent.destroy();
  });
}

main().catch(fail);
