// An existing Express app that mounts cryptid-gateway beside its own routes.
// Run after `npm run build`:  node examples/express-mount/server.js
// The package refers to itself by name (package.json "exports"), as an installed copy would.
const express = require('express');
const { createGateway } = require('cryptid-gateway');

const gateway = createGateway({
  upstream: process.env.CRYPTID_UPSTREAM ?? 'http://127.0.0.1:8008',
  logLevel: process.env.LOG_LEVEL ?? 'info',
  discovery: {
    document: {
      server_name: 'chat.example.com',
      // The certificate your TLS terminator serves; or point tls.cert at it instead.
      certificate_fingerprint: `sha256:${'0'.repeat(64)}`,
    },
  },
});

// One event per change of the upstream's health: healthy, degraded or unhealthy.
gateway.on('status', (change) => console.log(`upstream ${change.status}: ${change.reason}`));

const app = express();
// The host app's own routes go before the gateway: it forwards every path it does not answer.
app.get('/app/hello', (_req, res) => res.json({ hello: 'world' }));
app.get('/internal/metrics', gateway.metricsHandler);
app.use(gateway);

const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
server.on('upgrade', gateway.upgrade);

// The host app owns signals: the library never installs handlers.
process.once('SIGTERM', () => {
  gateway.beginShutdown();
  server.close(() => gateway.close());
});
