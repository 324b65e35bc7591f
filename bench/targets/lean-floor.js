'use strict';
// The floor of a lean engine: a node:http server (as the gateway must be, to mount in an
// Express app) relaying each request over a keep-alive pool of plain node:net sockets, with
// the request head written by hand and the response head parsed in JS. Content-Length
// responses only, no checks, no metrics, no timers: the least a Node proxy with a node:http
// front can do per request. What undici costs above this is the engine; what this costs above
// the byte pipe is node:http's own parse and write of the client's side. With `answerFile`
// (as bare-bytes.js reads it), /.well-known/cryptid is answered from it, as the gateway
// answers discovery between the requests it relays: warm-discovery.js measures this floor
// warmed by the same loads. WebSocket upgrades are relayed too, as the gateway's own engine
// relays them: the head written by hand, then the two sockets piped to each other; so that
// the warmed floor can carry the gateway's WebSocket traffic as well.

const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const { config, listen, serve, fail, pipeSockets } = require('./common');

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const CRLF2 = Buffer.from('\r\n\r\n');

async function main() {
  const { upstream, answerFile } = config();
  const answer = answerFile === undefined ? undefined : JSON.parse(fs.readFileSync(answerFile, 'utf8'));
  const answerBody = answer === undefined ? undefined : Buffer.from(answer.body, 'base64');
  const target = new URL(upstream);
  const port = Number(target.port);
  const host = target.hostname;
  const idle = [];

  function connection() {
    const socket = idle.pop();
    if (socket) return socket;
    const fresh = net.connect({ host, port, noDelay: true });
    fresh.on('error', () => fresh.destroy());
    fresh.on('close', () => {
      const i = idle.indexOf(fresh);
      if (i >= 0) idle.splice(i, 1);
      if (fresh.exchange) fresh.exchange.fail();
    });
    fresh.on('data', (chunk) => fresh.exchange?.data(chunk));
    return fresh;
  }

  function relay(req, res) {
    let head = `${req.method} ${req.url} HTTP/1.1\r\nhost: ${target.host}\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i].toLowerCase())) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    head += `x-forwarded-for: ${req.socket.remoteAddress}\r\n\r\n`;
    const socket = connection();
    let pending = null; // bytes of the response head seen so far
    let left = -1; // body bytes still to come, once the head is parsed
    socket.exchange = {
      data(chunk) {
        if (left < 0) {
          pending = pending ? Buffer.concat([pending, chunk]) : chunk;
          const end = pending.indexOf(CRLF2);
          if (end < 0) return;
          const lines = pending.latin1Slice(0, end).split('\r\n');
          const status = Number(lines[0].slice(9, 12));
          const headers = [];
          left = 0;
          for (let i = 1; i < lines.length; i++) {
            const colon = lines[i].indexOf(':');
            const name = lines[i].slice(0, colon);
            const value = lines[i].slice(colon + 1).trim();
            const lower = name.toLowerCase();
            if (lower === 'content-length') left = Number(value);
            if (!HOP.has(lower) || lower === 'host') headers.push(name, value);
          }
          res.writeHead(status, headers);
          chunk = pending.subarray(end + 4);
          pending = null;
        }
        if (chunk.length > 0) {
          left -= chunk.length;
          if (!res.write(chunk)) {
            socket.pause();
            res.once('drain', () => socket.resume());
          }
        }
        if (left === 0) {
          socket.exchange = null;
          res.end();
          idle.push(socket);
        }
      },
      fail() {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end('bad gateway');
        } else res.destroy();
      },
    };
    if (req.headers['content-length'] === undefined || req.headers['content-length'] === '0') {
      socket.write(head);
      return;
    }
    socket.cork();
    socket.write(head);
    req.on('data', (chunk) => {
      if (!socket.write(chunk)) {
        req.pause();
        socket.once('drain', () => req.resume());
      }
    });
    process.nextTick(() => socket.uncork());
  }

  const server = http.createServer(
    answer === undefined
      ? relay
      : (req, res) => {
          if (req.url !== '/.well-known/cryptid') return relay(req, res);
          res.writeHead(answer.status, answer.headers);
          res.end(answerBody);
        },
  );
  const tunnels = new Set();
  server.on('upgrade', (req, client, head) => {
    let out = `${req.method} ${req.url} HTTP/1.1\r\nhost: ${target.host}\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() !== 'host') out += `${raw[i]}: ${raw[i + 1]}\r\n`;
    const up = net.connect({ host, port, noDelay: true });
    up.write(`${out}\r\n`);
    if (head.length > 0) up.write(head);
    pipeSockets(client, up, tunnels);
  });
  const listening = await listen(server);
  serve({ port: listening, url: `http://127.0.0.1:${listening}` }, async () => {
    server.closeAllConnections();
    for (const s of idle) s.destroy();
    for (const s of tunnels) s.destroy();
  });
}

main().catch(fail);
