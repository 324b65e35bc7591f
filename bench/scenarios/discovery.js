'use strict';
// The discovery document, 50 connections: the gateway in library mode against a bare
// node:http server answering the same bytes, and `serve` (HTTPS) against a bare node:https
// server answering the same bytes. The bare servers replay the exact answer (status,
// headers, body) copied from the running gateway.

const path = require('node:path');
const { saveAnswer, request } = require('../lib/http-check');
const { interleave } = require('../lib/interleave');
const { renewable, startTarget, stopAll } = require('../lib/targets');
const { FINGERPRINT, wrkWindow } = require('./proxied-http');

const PATH = '/.well-known/cryptid';
const CONNECTIONS = 50;

async function run(ctx) {
  const children = [];
  const targets = [];
  try {
    const upstream = await startTarget(ctx, 'upstream', 'upstream');
    children.push(upstream);
    const tls = { cert: ctx.cert.cert, key: ctx.cert.key };
    const pair = async (bare, gw) => {
      // The gateway first: the bare server replays its answer.
      let child;
      try {
        const gwConfig = { upstream: upstream.url, fingerprint: FINGERPRINT, tls };
        child = await startTarget(ctx, gw.id, gw.file, gwConfig);
        children.push(child);
        const answerFile = path.join(ctx.tmp, `${bare.id}.json`);
        const answer = await saveAnswer(`${child.url}${PATH}`, answerFile);
        const bareConfig = { answerFile, tls: bare.tls ? tls : undefined };
        const bareChild = await startTarget(ctx, bare.id, 'bare-bytes', bareConfig);
        children.push(bareChild);
        const replayed = await request(`${bareChild.url}${PATH}`);
        if (replayed.body.toString('base64') !== answer.body) throw new Error('the bare server does not replay the same bytes');
        const bareTarget = { id: bare.id, label: `${bare.label} (${answer.bytes} B)`, child: bareChild, url: bareChild.url, ref: bare.id };
        targets.push(renewable(ctx, bareTarget, children, bare.id, 'bare-bytes', bareConfig));
        targets.push(renewable(ctx, { id: gw.id, label: gw.label, child, url: child.url, ref: bare.id }, children, gw.id, gw.file, gwConfig));
      } catch (err) {
        ctx.warn(`discovery · ${gw.label}: ${err.message.split('\n')[0]}`);
        targets.push({ id: bare.id, label: bare.label, failed: 'no gateway answer to replay' });
        targets.push({ id: gw.id, label: gw.label, failed: err.message.split('\n')[0] });
      }
    };
    await pair({ id: 'bare-http', label: 'bare node:http, same bytes' }, { id: 'gateway', label: 'gateway (library mode, HTTP)', file: 'gateway' });
    await pair({ id: 'bare-https', label: 'bare node:https, same bytes', tls: true }, { id: 'serve', label: 'serve (startServer, HTTPS)', file: 'serve' });
    return await interleave(ctx, {
      scenario: `discovery document, ${CONNECTIONS} connections`,
      targets,
      measure: (t, window) => wrkWindow(ctx, `${t.url}${PATH}`, CONNECTIONS, { method: 'GET' }, window),
    });
  } finally {
    await stopAll(children);
  }
}

module.exports = { discovery: { id: 'discovery', title: 'discovery document', run } };
