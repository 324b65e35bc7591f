'use strict';
// A bare node:http (or, with a certificate, node:https, TLS 1.3 as the sidecar) server that
// answers every request with the same status, headers and bytes as the gateway's discovery
// document: the floor for serving those bytes from Node.

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const { config, listen, serve, fail } = require('./common');

async function main() {
  const { answerFile, tls } = config();
  const answer = JSON.parse(fs.readFileSync(answerFile, 'utf8'));
  const body = Buffer.from(answer.body, 'base64');
  const headers = answer.headers;
  const handler = (_req, res) => {
    res.writeHead(answer.status, headers);
    res.end(body);
  };
  const server = tls ? https.createServer({ cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key), minVersion: 'TLSv1.3' }, handler) : http.createServer(handler);
  const port = await listen(server);
  serve({ port, url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}` }, async () => server.closeAllConnections());
}

main().catch(fail);
