'use strict';
// The gateway in library mode: createGateway() as the request listener of a plain
// node:http server, WebSocket upgrades handed to gateway.upgrade.

const http = require('node:http');
const { config, dist, listen, serve, fail, untilHealthy, untilStoreUp } = require('./common');

async function main() {
  const { upstream, fingerprint, rateLimits, proxy } = config();
  const { createGateway } = dist('gateway.js');
  const gateway = createGateway({
    upstream,
    metrics: { listen: false },
    // Without it, the defaults: the two rules the document implies, which no bench path matches.
    ...(rateLimits && { rateLimits }),
    // The one-process run raises the body cap for its 10 MiB message.
    ...(proxy && { proxy }),
    discovery: { document: { server_name: 'bench.example.com', certificate_fingerprint: fingerprint } },
    logLevel: 'silent',
  });
  const server = http.createServer(gateway);
  server.on('upgrade', gateway.upgrade);
  const port = await listen(server);
  await untilHealthy(gateway);
  // A Redis store is used from its first answer on; before that checks are decided without it.
  if (rateLimits && rateLimits.store === 'redis') await untilStoreUp(gateway);
  serve({ port, url: `http://127.0.0.1:${port}` }, async () => {
    server.closeAllConnections();
    await gateway.close();
  });
}

main().catch(fail);
