'use strict';
// One request from the harness itself: to check a target answers before loading it, and
// to copy the gateway's discovery answer for the bare servers.

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');

/** Resolves with {status, headers, body}; rejects after `timeoutMs`. */
function request(url, { method = 'GET', body, headers = {}, timeoutMs = 5000 } = {}) {
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method, headers, rejectUnauthorized: false, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Headers Node writes itself on every answer; the bare servers must not copy them. */
const PER_CONNECTION = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** The discovery answer of a running gateway, as the bare servers will replay it. */
async function copyAnswer(url) {
  const res = await request(url);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${res.body.toString().slice(0, 200)}`);
  const headers = {};
  for (const [name, value] of Object.entries(res.headers)) if (!PER_CONNECTION.has(name)) headers[name] = value;
  return { status: res.status, headers, body: res.body.toString('base64'), bytes: res.body.length };
}

/** `copyAnswer`, also written to `file` as JSON (what `bench/targets/bare-bytes.js` replays). */
async function saveAnswer(url, file) {
  const answer = await copyAnswer(url);
  fs.writeFileSync(file, JSON.stringify(answer));
  return answer;
}

module.exports = { request, copyAnswer, saveAnswer };
