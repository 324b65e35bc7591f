// An existing Express app that mounts cryptid-gateway first, its own parsers and routes behind it.
// Run after `npm run build`:  node examples/express-mount/server.js
// The package refers to itself by name (package.json "exports"), as an installed copy would.
const express = require('express');
const pino = require('pino'); // the library logs nothing unless given a logger (npm install pino)
const { createGateway } = require('cryptid-gateway');

const gateway = createGateway({
  upstream: process.env.CRYPTID_UPSTREAM ?? 'http://127.0.0.1:8008',
  discovery: {
    document: {
      server_name: 'chat.example.com',
      // The certificate your TLS terminator serves; or point tls.cert at it instead.
      certificate_fingerprint: `sha256:${'0'.repeat(64)}`,
    },
  },
  // Only these prefixes go upstream; every other path goes on to the app's own routes.
  proxy: { paths: ['/v1/', '/federation/'] },
  logger: pino({ level: process.env.LOG_LEVEL ?? 'info' }),
});

// One event per change of the upstream's health: healthy, degraded or unhealthy.
gateway.on('status', (change) => console.log(`upstream ${change.status}: ${change.reason}`));

const app = express();
// First: forwarded requests reach the upstream before any body parser has read them.
app.use(gateway);
app.use(express.json());
app.get('/app/hello', (_req, res) => res.json({ hello: 'world' }));
app.post('/app/echo', (req, res) => res.json({ youSent: req.body }));
app.get('/internal/metrics', gateway.metricsHandler);

const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
// WebSocket upgrades bypass Express: hand them to the gateway.
server.on('upgrade', gateway.upgrade);

// The host app owns signals: the library never installs handlers.
process.once('SIGTERM', () => {
  gateway.beginShutdown();
  server.close(() => gateway.close());
});
