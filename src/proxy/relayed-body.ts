import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

const kRelay = Symbol('cryptid.relayedBody');

/** Told of every chunk passed on (the forwarder's "no progress" timer). */
export interface RelayProgress {
  onProgress(): void;
}

type Source = IncomingMessage & { [kRelay]?: RelayedBody | undefined };

/**
 * The request body as handed to undici: a stream of its own, because undici destroys the
 * stream it is given once it is done with it (or when the upstream fails), and a destroyed
 * `IncomingMessage` would take the client's connection with it and report the upstream's
 * error as the client's. Destroying this one only lets go of the request, which stays
 * paused with the rest of its body unread.
 *
 * It does what `req.pipe(new PassThrough())` did, without the `Writable` half: each chunk
 * the request emits is pushed once (in flowing mode it reaches undici in the same call),
 * and the request is paused when this stream's buffer is full and resumed when undici reads
 * again, so at most about one `highWaterMark` is held here. The listeners are shared
 * functions, not closures per request, and `progress` hears of each chunk from the same
 * listener: a second 'data' listener would make every emit copy the listener list.
 */
export class RelayedBody extends Readable {
  constructor(
    private readonly source: Source,
    readonly progress: RelayProgress | null = null,
  ) {
    super({ highWaterMark: source.readableHighWaterMark });
    source[kRelay] = this;
    source.on('data', onSourceData);
    source.once('end', onSourceEnd);
  }

  override _read(): void {
    // undici wants more: let the request flow again (a no-op while it flows).
    if (this.source.isPaused()) this.source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const { source } = this;
    if (source[kRelay] === this) {
      source[kRelay] = undefined;
      source.removeListener('data', onSourceData);
      source.removeListener('end', onSourceEnd);
      // As an unpiped request: it stops flowing, and Node reads the rest off after the answer.
      source.pause();
    }
    callback(err);
  }
}

function onSourceData(this: Source, chunk: Buffer): void {
  const relay = this[kRelay];
  if (relay === undefined) return;
  relay.progress?.onProgress();
  if (!relay.push(chunk)) this.pause();
}

function onSourceEnd(this: Source): void {
  this[kRelay]?.push(null);
}
