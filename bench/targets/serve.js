'use strict';
// What `cryptid-gateway serve` runs: startServer(), HTTPS (TLS 1.3) with the bench certificate.

const { config, dist, serve, fail, untilHealthy } = require('./common');

async function main() {
  const { upstream, tls } = config();
  const { startServer } = dist('server/sidecar.js');
  const running = await startServer({
    upstream,
    listen: '127.0.0.1:0',
    tls: { cert: tls.cert, key: tls.key },
    metrics: { listen: false },
    discovery: { document: { server_name: 'bench.example.com' } },
    logLevel: 'silent',
  });
  await untilHealthy(running.gateway);
  serve({ port: running.port, url: running.url }, () => running.close());
}

main().catch(fail);
