'use strict';
// WebSocket round-trip load: `connections` tunnels, each sending one message and waiting
// for its echo before sending the next (one message in flight per tunnel). After the
// warm-up it tells the harness `measuring` (the harness reads CPU times then), counts for
// `seconds`, and reports round trips and latency percentiles.

const { createHistogram } = require('node:perf_hooks');
const WS = require('ws');

const { url, connections, warmupSeconds, seconds, messageBytes } = JSON.parse(process.argv[2]);
const payload = 'x'.repeat(messageBytes);
const send = (msg) => process.connected && process.send(msg);

let histogram = createHistogram();
let roundTrips = 0;
let errors = 0;
let running = true;
const sockets = [];

function start(ws) {
  let sentAt = 0n;
  const next = () => {
    if (!running || ws.readyState !== WS.OPEN) return;
    sentAt = process.hrtime.bigint();
    ws.send(payload);
  };
  ws.on('message', () => {
    const ns = Number(process.hrtime.bigint() - sentAt);
    histogram.record(ns > 0 ? ns : 1);
    roundTrips++;
    next();
  });
  next();
}

async function main() {
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise((resolve, reject) => {
          const ws = new WS(url, { perMessageDeflate: false });
          sockets.push(ws);
          ws.once('open', resolve);
          ws.once('error', reject);
        }),
    ),
  );
  for (const ws of sockets) {
    ws.on('error', () => errors++);
    ws.on('close', () => running && errors++);
    start(ws);
  }
  await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
  histogram = createHistogram();
  roundTrips = 0;
  errors = 0;
  const t0 = process.hrtime.bigint();
  send({ type: 'measuring' });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const count = roundTrips;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  send({
    type: 'result',
    requests: count,
    rps: count / elapsed,
    p50Ms: histogram.percentile(50) / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    errors,
  });
  running = false;
  for (const ws of sockets) ws.terminate();
}

process.on('disconnect', () => process.exit(0));
process.on('message', (msg) => msg.type === 'stop' && process.exit(0));
main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
