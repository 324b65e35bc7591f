'use strict';
// In-process A/B of the per-request pieces the CPU profile names, for two compiled gateways:
// the rate limiter's work for one request on a matched rule (match, key, memory-store check,
// headers) and the route label. Each timed loop runs in turn for every variant, five times;
// the fastest pass counts (the least disturbed by the rest of the machine).
//
//   node bench/micro-ab.js A=.ab-base B=.ab-new

const path = require('node:path');

const N = 300_000;
const RULE = { name: 'bench', match: ['/v1/'], key: 'ip', limit: 1_000_000_000, windowMs: 60_000 };

function load(dir) {
  const req = (p) => require(path.join(path.resolve(dir), p));
  const { resolveConfig } = req('config/resolve.js');
  const { RateLimiter } = req('rate-limit/limiter.js');
  const { rateLimitHeaders } = req('rate-limit/headers.js');
  const { routeOf } = req('protocol/routes.js');
  const { SILENT_LOGGER } = req('logger.js');
  const config = resolveConfig(
    {
      upstream: 'http://127.0.0.1:1',
      rateLimits: { rules: [RULE] },
      discovery: { document: { server_name: 'bench.example.com', certificate_fingerprint: `sha256:${'0'.repeat(64)}` } },
    },
    'library',
  ).config;
  const limiter = new RateLimiter(config.rateLimits, { logger: SILENT_LOGGER });
  return { limiter, rateLimitHeaders, routeOf };
}

const request = { method: 'GET', url: '/v1/ping', headers: { host: 'x' }, rawHeaders: ['Host', 'x'], socket: { remoteAddress: '127.0.0.1' } };

const loops = {
  'rate limit, matched rule, memory store': ({ limiter, rateLimitHeaders }) => {
    let sink = 0;
    for (let i = 0; i < N; i++) {
      const rules = limiter.match('GET', '/v1/ping');
      const v = limiter.check(request, rules, false);
      sink += rateLimitHeaders(v.decisions).ratelimit.length;
    }
    return sink;
  },
  'route label /v1/ping': ({ routeOf }) => {
    let sink = 0;
    for (let i = 0; i < N; i++) sink += routeOf('GET', '/v1/ping').length;
    return sink;
  },
  'route label /v1/keypackages/<id>?q': ({ routeOf }) => {
    let sink = 0;
    for (let i = 0; i < N; i++) sink += routeOf('GET', '/v1/keypackages/d3adb33f?x=1').length;
    return sink;
  },
};

const variants = process.argv.slice(2).map((a) => {
  const [label, dir] = a.split('=');
  return { label, ...load(dir) };
});
for (const [name, loop] of Object.entries(loops)) {
  const best = new Map();
  for (let pass = 0; pass < 5; pass++) {
    for (const v of variants) {
      const t0 = performance.now();
      loop(v);
      const ns = ((performance.now() - t0) * 1e6) / N;
      best.set(v.label, Math.min(best.get(v.label) ?? Infinity, ns));
    }
  }
  process.stdout.write(`${name}: ${variants.map((v) => `${v.label} ${best.get(v.label).toFixed(0)} ns`).join(', ')}\n`);
}
