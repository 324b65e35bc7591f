'use strict';
// The gateway in library mode: createGateway() as the request listener of a plain
// node:http server, WebSocket upgrades handed to gateway.upgrade.

const http = require('node:http');
const { config, dist, listen, serve, fail, untilHealthy } = require('./common');

async function main() {
  const { upstream, fingerprint } = config();
  const { createGateway } = dist('gateway.js');
  const gateway = createGateway({
    upstream,
    metrics: { listen: false },
    discovery: { document: { server_name: 'bench.example.com', certificate_fingerprint: fingerprint } },
    logLevel: 'silent',
  });
  const server = http.createServer(gateway);
  server.on('upgrade', gateway.upgrade);
  const port = await listen(server);
  await untilHealthy(gateway);
  serve({ port, url: `http://127.0.0.1:${port}` }, async () => {
    server.closeAllConnections();
    await gateway.close();
  });
}

main().catch(fail);
