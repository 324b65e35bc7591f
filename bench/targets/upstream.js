'use strict';
// The upstream: a bare node:http server. GET answers ~100 B of JSON, POST reads the body
// and acknowledges its size, WebSocket messages are echoed (ws, no compression).

const http = require('node:http');
const { WebSocketServer } = require('ws');
const { listen, serve, fail } = require('./common');

const PING = Buffer.from(JSON.stringify({ ok: true, server: 'cryptid-bench-upstream', version: '1.0.0', padding: 'x'.repeat(36) }));
const PING_HEADERS = { 'content-type': 'application/json', 'content-length': PING.length };

async function main() {
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' || req.method === 'PUT') {
      let received = 0;
      // A slow reader (the memory cost of a large body streamed through a proxy): a pause
      // after every chunk, so that the proxy in front must hold back, not buffer.
      const slow = req.url.startsWith('/v1/slow');
      req.on('data', (chunk) => {
        received += chunk.length;
        if (slow) {
          req.pause();
          setTimeout(() => req.resume(), 2);
        }
      });
      req.on('end', () => {
        const body = `{"received":${received}}`;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    res.writeHead(200, PING_HEADERS);
    res.end(req.method === 'HEAD' ? undefined : PING);
  });
  // Longer than any pause between runs, so pooled proxy connections are not reset under them.
  server.keepAliveTimeout = 120_000;
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => undefined);
  });
  const port = await listen(server);
  serve({ port, url: `http://127.0.0.1:${port}`, pingBytes: PING.length }, async () => {
    for (const ws of wss.clients) ws.terminate();
    server.closeAllConnections();
  });
}

main().catch(fail);
