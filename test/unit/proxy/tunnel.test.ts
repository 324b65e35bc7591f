import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Tunnel } from '../../../src/proxy/tunnel';
import { closeFrame } from '../../../src/proxy/ws-frames';
import { withDeadline } from '../../helpers/deadline';
import { closedOf, readBytes, readToEnd, socketPair } from '../../helpers/socket-pair';
import { readCloseFrame, wsFrame } from '../../helpers/ws-frame';

/**
 * A tunnel as the engine leaves it: two real loopback connections, client ↔ gateway and
 * gateway ↔ upstream, the gateway's two ends piped to each other, and a Tunnel watching them.
 * `client` and `upstream` are the far ends, played by the test.
 */
interface Rig {
  tunnel: Tunnel;
  /** The WebSocket client's socket. */
  client: Socket;
  /** The upstream server's socket. */
  upstream: Socket;
  /** The gateway's ends, for checking they are gone. */
  gatewayClientSide: Socket;
  gatewayUpstreamSide: Socket;
}

const rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) for (const s of [r.client, r.upstream, r.gatewayClientSide, r.gatewayUpstreamSide]) s.destroy();
});

async function rig(): Promise<Rig> {
  const front = await socketPair();
  const back = await socketPair();
  const gatewayClientSide = front.near;
  const gatewayUpstreamSide = back.far;
  // As the engine does: piped both ways, socket errors handled (they end the tunnel, not the process).
  gatewayClientSide.pipe(gatewayUpstreamSide);
  gatewayUpstreamSide.pipe(gatewayClientSide);
  for (const s of [gatewayClientSide, gatewayUpstreamSide, front.far, back.near]) s.on('error', () => undefined);
  const r = { tunnel: new Tunnel(gatewayClientSide, gatewayUpstreamSide), client: front.far, upstream: back.near, gatewayClientSide, gatewayUpstreamSide };
  rigs.push(r);
  return r;
}

describe('Tunnel', () => {
  it('carries bytes both ways unchanged, frames cut anywhere included', async () => {
    const r = await rig();
    const up = Buffer.concat([wsFrame(10, 0x1, true), wsFrame(70_000, 0x2, true), randomBytes(3)]);
    const down = Buffer.concat([wsFrame(300), wsFrame(0, 0x9), randomBytes(5)]);
    const atUpstream = readBytes(r.upstream, up.length);
    const atClient = readBytes(r.client, down.length);
    r.client.write(up.subarray(0, 7));
    r.client.write(up.subarray(7));
    r.upstream.write(down);
    const [gotUp, gotDown] = await Promise.all([atUpstream, atClient]);
    expect({ up: gotUp.equals(up), down: gotDown.equals(down) }).toEqual({ up: true, down: true });
  });

  it('holds the client back while the upstream does not read, and delivers every byte once it does', async () => {
    const r = await rig();
    r.upstream.pause();
    const sent = randomBytes(16 * 1024 * 1024);
    r.client.write(sent);
    // The gateway's client side stops reading once the upstream side's buffer is full.
    await withDeadline(
      (async () => {
        while (r.gatewayClientSide.readableFlowing !== false) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      'the client side paused',
    );
    expect(r.gatewayUpstreamSide.writableLength).toBeGreaterThan(0);
    const got = readBytes(r.upstream, sent.length, 10000);
    r.upstream.resume();
    expect((await got).equals(sent)).toBe(true);
    expect(r.gatewayClientSide.readableFlowing).toBe(true);
  });

  it('ends the client once the upstream is gone, after delivering what the upstream sent last', async () => {
    const r = await rig();
    const last = wsFrame(2000);
    const received = readToEnd(r.client);
    r.upstream.end(last);
    expect((await received).equals(last)).toBe(true);
    await withDeadline(r.tunnel.closed, 'the tunnel closing');
    await closedOf(r.gatewayClientSide, "the gateway's client socket");
  });

  // A FIN is passed on by the pipes themselves; a reset is not, and must still end the other side.
  it('ends the client when the upstream connection is reset, leaving nothing half open', async () => {
    const r = await rig();
    const received = readToEnd(r.client);
    r.upstream.resetAndDestroy();
    expect((await received).length).toBe(0);
    await withDeadline(r.tunnel.closed, 'the tunnel closing');
    await closedOf(r.gatewayClientSide, "the gateway's client socket");
  });

  it('ends the upstream when the client connection is reset', async () => {
    const r = await rig();
    const received = readToEnd(r.upstream);
    r.client.resetAndDestroy();
    expect((await received).length).toBe(0);
    await withDeadline(r.tunnel.closed, 'the tunnel closing');
  });

  it('ends the upstream once the client hangs up', async () => {
    const r = await rig();
    const received = readToEnd(r.upstream);
    r.client.destroy();
    expect((await received).length).toBe(0);
    await withDeadline(r.tunnel.closed, 'the tunnel closing');
    await closedOf(r.gatewayUpstreamSide, "the gateway's upstream socket");
  });

  it('on shutdown finishes the frame in flight each way, then sends Close 1001 (masked only to the upstream) instead of what follows', async () => {
    const r = await rig();
    const down = wsFrame(5000);
    const up = wsFrame(3000, 0x2, true);
    // Half of a frame each way has gone through when the shutdown starts.
    const halfDown = readBytes(r.client, 100);
    const halfUp = readBytes(r.upstream, 100);
    r.upstream.write(down.subarray(0, 100));
    r.client.write(up.subarray(0, 100));
    await Promise.all([halfDown, halfUp]);
    const atClient = readToEnd(r.client);
    const atUpstream = readToEnd(r.upstream);
    const closed = r.tunnel.shutdown(1001, 'gateway shutting down', 10_000);
    // The rest of each frame, then one more frame that must not be delivered.
    r.upstream.write(Buffer.concat([down.subarray(100), wsFrame(50)]));
    r.client.write(Buffer.concat([up.subarray(100), wsFrame(50, 0x1, true)]));
    const [toClient, toUpstream] = await Promise.all([atClient, atUpstream]);
    expect({
      clientGotTheWholeFrame: toClient.subarray(0, down.length - 100).equals(down.subarray(100)),
      clientClose: readCloseFrame(toClient.subarray(down.length - 100)),
      upstreamGotTheWholeFrame: toUpstream.subarray(0, up.length - 100).equals(up.subarray(100)),
      upstreamClose: readCloseFrame(toUpstream.subarray(up.length - 100)),
    }).toEqual({
      clientGotTheWholeFrame: true,
      clientClose: { code: 1001, reason: 'gateway shutting down', masked: false },
      upstreamGotTheWholeFrame: true,
      upstreamClose: { code: 1001, reason: 'gateway shutting down', masked: true },
    });
    // Both peers answer the Close and hang up: the tunnel is over long before its grace.
    r.client.end();
    r.upstream.end();
    await withDeadline(closed, 'the tunnel closing after both peers answered');
  });

  it('on shutdown between frames sends the Close frame at once, and answers a second shutdown with the same promise', async () => {
    const r = await rig();
    const atClient = readToEnd(r.client);
    const atUpstream = readToEnd(r.upstream);
    const first = r.tunnel.shutdown(1001, 'bye', 10_000);
    expect(r.tunnel.shutdown(1000, 'again', 10)).toBe(first);
    const [toClient, toUpstream] = await Promise.all([atClient, atUpstream]);
    expect({ toClient: [...toClient], toUpstream: readCloseFrame(toUpstream) }).toEqual({
      toClient: [...closeFrame(1001, 'bye', false)],
      toUpstream: { code: 1001, reason: 'bye', masked: true },
    });
    r.client.end();
    r.upstream.end();
    await withDeadline(first, 'the tunnel closing');
  });

  it('destroys both sockets when the grace period ends with the peers still connected', async () => {
    const r = await rig();
    // Neither peer ever answers the Close frame nor hangs up.
    r.client.resume();
    r.upstream.resume();
    await withDeadline(r.tunnel.shutdown(1001, 'bye', 50), 'the tunnel closing at the end of its grace period');
    expect({ client: r.gatewayClientSide.destroyed, upstream: r.gatewayUpstreamSide.destroyed }).toEqual({ client: true, upstream: true });
    await Promise.all([closedOf(r.client, 'the client'), closedOf(r.upstream, 'the upstream')]);
  });

  it('answers a shutdown of a tunnel already closed with its closed promise', async () => {
    const r = await rig();
    r.client.destroy();
    r.upstream.destroy();
    await withDeadline(r.tunnel.closed, 'the tunnel closing');
    expect(r.tunnel.shutdown(1001, 'bye', 10)).toBe(r.tunnel.closed);
  });
});
