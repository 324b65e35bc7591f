'use strict';
// The floor of the gateway's HTTP engine: a node:http server handing every request to one
// undici Pool through dispatch() with the smallest handler that relays status, headers and
// body (hop-by-hop headers dropped, X-Forwarded-For set, no checks, no metrics, no timers).
// What the gateway costs above this is its own work; below it, only a different engine helps.

const http = require('node:http');
// The Pool's own module, as the gateway loads it (src/net/undici-client.ts): not the index's fetch and the rest.
const Pool = require('undici/lib/dispatcher/pool.js');
const { config, listen, serve, fail } = require('./common');

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

async function main() {
  const { upstream } = config();
  const pool = new Pool(new URL(upstream).origin, { connections: 512, headersTimeout: 0, bodyTimeout: 0 });
  const server = http.createServer((req, res) => {
    const headers = {};
    for (const name in req.headers) if (!HOP.has(name)) headers[name] = req.headers[name];
    headers['x-forwarded-for'] = req.socket.remoteAddress;
    const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0';
    let resume = null;
    pool.dispatch(
      { method: req.method, path: req.url, headers, body: hasBody ? req : null },
      {
        onConnect() {},
        onHeaders(status, raw, r) {
          const out = {};
          for (let i = 0; i < raw.length; i += 2) {
            const name = raw[i].toString('latin1').toLowerCase();
            if (!HOP.has(name)) out[name] = raw[i + 1].toString('latin1');
          }
          res.writeHead(status, out);
          resume = r;
          return true;
        },
        onData(chunk) {
          if (res.write(chunk)) return true;
          res.once('drain', resume);
          return false;
        },
        onComplete() {
          res.end();
        },
        onError() {
          if (!res.headersSent) {
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end('bad gateway');
          } else res.destroy();
        },
      },
    );
  });
  const port = await listen(server);
  serve({ port, url: `http://127.0.0.1:${port}` }, async () => {
    server.closeAllConnections();
    await pool.close();
  });
}

main().catch(fail);
