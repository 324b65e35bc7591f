import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { closeFrame, FrameTracker } from './ws-frames';

/**
 * One open WebSocket tunnel: the client socket and the upstream socket, piped to each
 * other by the engine byte for byte. The tunnel only watches frame boundaries (for a
 * clean close on shutdown) and makes sure neither socket outlives the other. It adds no
 * pings and no idle timeout: the upstream's own (300 s) rules the stream.
 */
export class Tunnel {
  private readonly toClient = new FrameTracker();
  private readonly toUpstream = new FrameTracker();
  private readonly watchUpstream = (chunk: Buffer): void => void this.toClient.consume(chunk);
  private readonly watchClient = (chunk: Buffer): void => void this.toUpstream.consume(chunk);
  private open = 2;
  private shuttingDown = false;
  private graceTimer: NodeJS.Timeout | undefined;
  /** Resolves once both sockets are closed. */
  readonly closed: Promise<void>;

  constructor(
    private readonly client: Duplex,
    private readonly upstream: Socket,
  ) {
    let resolve!: () => void;
    this.closed = new Promise<void>((r) => (resolve = r));
    const onClose = (other: Duplex) => () => {
      // One side gone: end the other once what is in flight is written, never leave it half open.
      if (!this.shuttingDown) endSoon(other);
      if (--this.open === 0) {
        clearTimeout(this.graceTimer);
        resolve();
      }
    };
    client.once('close', onClose(upstream));
    upstream.once('close', onClose(client));
    upstream.on('data', this.watchUpstream);
    client.on('data', this.watchClient);
  }

  /**
   * Ends the tunnel cleanly: at the next frame boundary in each direction a
   * Close frame with `code` goes to the client and (masked) to the upstream, then both
   * sockets are ended; after `graceMs` whatever is still open is destroyed.
   */
  shutdown(code: number, reason: string, graceMs: number): Promise<void> {
    if (this.shuttingDown || this.open === 0) return this.closed;
    this.shuttingDown = true;
    this.graceTimer = setTimeout(() => {
      this.client.destroy();
      this.upstream.destroy();
    }, graceMs);
    this.stopAtBoundary(this.upstream, this.client, this.toClient, this.watchUpstream, closeFrame(code, reason, false));
    this.stopAtBoundary(this.client, this.upstream, this.toUpstream, this.watchClient, closeFrame(code, reason, true));
    return this.closed;
  }

  private stopAtBoundary(source: Duplex, destination: Duplex, tracker: FrameTracker, watcher: (chunk: Buffer) => void, frame: Buffer): void {
    source.unpipe(destination);
    source.off('data', watcher);
    let done = false;
    const finish = (): void => {
      done = true;
      if (destination.writable) destination.end(frame);
    };
    if (tracker.atBoundary) finish();
    // Complete the frame in flight, then discard: the peer's Close reply and its FIN must
    // still be read for the socket to close.
    source.on('data', (chunk: Buffer) => {
      if (done) return;
      const n = tracker.consume(chunk, true);
      if (n > 0 && destination.writable) destination.write(chunk.subarray(0, n));
      if (tracker.atBoundary) finish();
    });
    source.resume();
  }
}

/** Ends a socket and destroys it once its last bytes are written (net.Socket#destroySoon). */
function endSoon(socket: Duplex): void {
  const destroySoon = (socket as Partial<Socket>).destroySoon;
  if (typeof destroySoon === 'function') destroySoon.call(socket);
  else socket.end();
}
