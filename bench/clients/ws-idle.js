'use strict';
// Idle WebSocket tunnels: on `open` it opens `count` connections (at most `concurrency`
// handshakes at a time) and holds them without sending anything; on `close` it closes
// them all with a normal Close handshake and waits for every socket to be closed.

const WS = require('ws');

const send = (msg) => process.connected && process.send(msg);
let sockets = [];

async function open({ url, count, concurrency }) {
  const t0 = Date.now();
  let next = 0;
  let firstError;
  const worker = async () => {
    while (next < count) {
      next++;
      await new Promise((resolve) => {
        const ws = new WS(url, { perMessageDeflate: false });
        ws.on('error', (err) => {
          firstError ??= err.message;
        });
        ws.once('open', () => {
          sockets.push(ws);
          resolve();
        });
        // A refused handshake ('unexpected-response' aborts it) ends in 'close' too.
        ws.once('close', () => resolve());
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const opened = sockets.filter((ws) => ws.readyState === WS.OPEN).length;
  send({ type: 'opened', opened, failed: count - opened, firstError, ms: Date.now() - t0 });
}

async function close() {
  const t0 = Date.now();
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          if (ws.readyState === WS.CLOSED) return resolve();
          ws.once('close', resolve);
          ws.close(1000, 'bench done');
        }),
    ),
  );
  sockets = [];
  send({ type: 'closed', ms: Date.now() - t0 });
}

process.on('disconnect', () => process.exit(0));
process.on('message', (msg) => {
  if (msg.type === 'open') void open(msg);
  else if (msg.type === 'close') void close();
  else if (msg.type === 'stop') process.exit(0);
});
send({ type: 'ready' });
