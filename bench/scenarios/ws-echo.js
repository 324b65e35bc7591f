'use strict';
// WebSocket echo round trips over 50 tunnels: the upstream directly, the bare http-proxy-3
// server and the gateway. One message (128 B) in flight per tunnel; the client is its own
// process on the load core.

const path = require('node:path');
const { interleave } = require('../lib/interleave');
const { NodeChild } = require('../lib/processes');
const { renewable, startTarget, stopAll } = require('../lib/targets');
const { FINGERPRINT, addNginx } = require('./proxied-http');

const TUNNELS = 50;
const MESSAGE_BYTES = 128;
const CLIENT = path.join(__dirname, '..', 'clients', 'ws-echo.js');

async function run(ctx) {
  const children = [];
  try {
    const upstream = await startTarget(ctx, 'upstream', 'upstream');
    children.push(upstream);
    const targets = [{ id: 'direct', label: 'upstream directly', child: upstream, url: upstream.url, ref: 'direct' }];
    await addNginx(ctx, 'ws-echo', targets, children, upstream);
    const proxies = [
      ['http-proxy-3', 'bare http-proxy-3', 'http-proxy-3'],
      ['gateway', `gateway (library mode, ${ctx.opts.label})`, 'gateway'],
      // An open tunnel is bytes piped both ways: this is what that costs in Node with nothing else.
      ['tcp-pipe', 'floor: node:net byte pipe', 'tcp-pipe'],
    ];
    if (ctx.opts.compareDist) proxies.push(['gateway-compare', `gateway (library mode, ${ctx.opts.compareLabel})`, 'gateway', path.resolve(ctx.opts.compareDist)]);
    for (const [id, label, file, dist] of proxies) {
      try {
        const config = { upstream: upstream.url, fingerprint: FINGERPRINT };
        const options = dist ? { dist, ...(ctx.opts.compareNodeArgs && { gatewayNodeArgs: ctx.opts.compareNodeArgs }) } : {};
        const child = await startTarget(ctx, id, file, config, options);
        children.push(child);
        const target = {
          id,
          label,
          child,
          upstream,
          url: child.url,
          ref: 'direct',
          engine: id !== 'http-proxy-3' ? 'http-proxy-3' : undefined,
          nginx: id !== 'http-proxy-3' ? 'nginx' : undefined,
        };
        targets.push(renewable(ctx, target, children, id, file, config, options));
      } catch (err) {
        targets.push({ id, label, failed: `did not start: ${err.message.split('\n')[0]}` });
      }
    }
    return await interleave(ctx, {
      scenario: `WebSocket echo round trips, ${TUNNELS} tunnels`,
      targets,
      measure: async (t, window) => {
        const { seconds, warmupSeconds } = ctx.opts;
        const client = new NodeChild('ws-echo client', CLIENT, {
          args: [JSON.stringify({ url: `${t.url.replace(/^http/, 'ws')}/v1/stream`, connections: TUNNELS, warmupSeconds, seconds, messageBytes: MESSAGE_BYTES })],
          core: ctx.cores.load,
        });
        client.ready.catch(() => undefined); // this client sends no 'ready'
        try {
          const limit = (warmupSeconds + seconds + 20) * 1000;
          const measuring = client.message('measuring', limit);
          const result = client.message('result', limit);
          result.catch(() => undefined);
          await measuring;
          window.start();
          const r = await result;
          window.end();
          return r;
        } finally {
          await client.stop(2000);
        }
      },
    });
  } finally {
    await stopAll(children);
  }
}

module.exports = { wsEcho: { id: 'ws-echo', title: 'WebSocket echo', run } };
