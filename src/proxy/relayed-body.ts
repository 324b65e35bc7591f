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
 * error as the client's. Destroying this one only lets go of the request, whose unread rest
 * is then discarded.
 *
 * It does what `req.pipe(new PassThrough())` did, without the `Writable` half: each chunk
 * the request emits is pushed once (in flowing mode it reaches undici in the same call),
 * and the request is paused when this stream's buffer is full or undici pauses it, and
 * resumed when undici reads again, so a relay undici has paused holds nothing. The
 * listeners are shared functions, not closures per request, and `progress` hears of each
 * chunk from the same listener: a second 'data' listener would make every emit copy the
 * listener list.
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

  /** The reader paused this stream (undici does when its socket write returns false). */
  private held = false;

  /**
   * undici pauses the body when its socket write returns false, which every 64 KiB read
   * does (it exceeds the 16 KiB highWaterMark). The request is paused with it, and
   * Readable's own read-ahead while paused (`_read` to fill the buffer) waits for resume():
   * the next read waits in the request (and the kernel), not in this stream's buffer as
   * well, so an upload holds two reads in the gateway, not three.
   */
  override pause(): this {
    this.held = true;
    super.pause();
    if (this.source[kRelay] === this && !this.source.isPaused()) this.source.pause();
    return this;
  }

  override resume(): this {
    this.held = false;
    super.resume();
    // Readable may not call _read again (it can count a read as pending): resume the request here.
    if (this.source[kRelay] === this && this.source.isPaused()) this.source.resume();
    return this;
  }

  override _read(): void {
    if (this.held) return;
    // undici wants more: let the request flow again (a no-op while it flows).
    if (this.source.isPaused()) this.source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const { source } = this;
    if (source[kRelay] === this) {
      source[kRelay] = undefined;
      source.removeListener('data', onSourceData);
      source.removeListener('end', onSourceEnd);
      // The rest of the body is read and discarded, so that the client's connection can carry
      // its next request once the answer is out: Node drains only a request nobody began to
      // read, and a paused one would hang the connection after an early answer.
      if (!source.destroyed) source.resume();
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
