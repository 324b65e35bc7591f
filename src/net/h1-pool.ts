import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connectUpstream, upstreamAddress, type UpstreamAddress } from './upstream-connect';

/** A connection's current user: told of what the socket reads and of its end. */
export interface ConnectionUser {
  onData(chunk: Buffer): void;
  /** The socket closed (or failed: `err`) while this user held it. */
  onClosed(err: Error | null): void;
}

/** A pooled socket with the state the pool keeps on it. */
export interface PooledSocket extends Socket {
  user: ConnectionUser | null;
  /** When it went idle (performance.now()), and until when it may be reused. */
  idleSince: number;
  reusableUntil: number;
  /** The first error the socket reported: the reason it closed. */
  failure: Error | null;
}

/** Waits for a connection; `cancel` leaves the queue. */
interface Waiter {
  (socket: PooledSocket): void;
}

/** How long an idle connection is reused when the upstream names no `Keep-Alive: timeout` (undici's default). */
export const DEFAULT_IDLE_MS = 4_000;
/** Reused only this long before the upstream's own stated timeout: its close and our next request must not cross. */
export const IDLE_MARGIN_MS = 1_000;
/** The longest reuse a `Keep-Alive: timeout` can ask for. */
export const MAX_IDLE_MS = 600_000;

/**
 * HTTP/1.1 keep-alive connections to one origin, at most `max` open at once; requests
 * beyond them wait in order for one to be released. The most recently used idle
 * connection is handed out first (its peer has just seen it alive). A connection is reused
 * only within the idle time the upstream allows, less a margin, so that a request is never
 * written to a socket the upstream is closing. Nothing is retried.
 */
export class ConnectionPool {
  private readonly idle: PooledSocket[] = [];
  private readonly waiting: Waiter[] = [];
  private open = 0;
  private busy = 0;
  private closed = false;
  private readonly address: UpstreamAddress;
  /** Closes idle connections as their reuse time runs out; armed only while some are idle. */
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    upstream: URL,
    private readonly max: number,
  ) {
    this.address = upstreamAddress(upstream);
  }

  /** Connections carrying a request. */
  get inUse(): number {
    return this.busy;
  }

  /** Idle connections ready for the next request. */
  get free(): number {
    return this.idle.length;
  }

  /** Hands `take` a connection now (idle or new) or once one is released; returns a cancel function when it waits. */
  acquire(take: Waiter): (() => void) | null {
    const now = performance.now();
    while (this.idle.length > 0) {
      const socket = this.idle.pop()!;
      if (now < socket.reusableUntil && !socket.destroyed) {
        this.busy++;
        take(socket);
        return null;
      }
      socket.destroy();
    }
    if (this.open < this.max) {
      this.busy++;
      take(this.connect());
      return null;
    }
    this.waiting.push(take);
    return () => {
      const i = this.waiting.indexOf(take);
      if (i >= 0) this.waiting.splice(i, 1);
    };
  }

  /**
   * Gives a connection back after a complete exchange: kept for `idleMs` when `reuse`,
   * otherwise closed. A waiting request gets it (or a new one) at once.
   */
  release(socket: PooledSocket, reuse: boolean, idleMs: number): void {
    socket.user = null;
    this.busy--;
    if (!reuse || this.closed || socket.destroyed || idleMs <= 0) socket.destroy();
    else {
      socket.idleSince = performance.now();
      socket.reusableUntil = socket.idleSince + idleMs;
      const next = this.waiting.shift();
      if (next !== undefined) {
        this.busy++;
        next(socket);
        return;
      }
      this.idle.push(socket);
      if (this.sweeper === null) this.armSweeper(idleMs);
      return;
    }
    this.serveWaiting();
  }

  /** Gives up a connection whose exchange broke: it is destroyed. */
  discard(socket: PooledSocket): void {
    socket.user = null;
    this.busy--;
    socket.destroy();
    this.serveWaiting();
  }

  /** Closes the idle connections now, and every other one as it is released. */
  close(): void {
    this.closed = true;
    this.disarmSweeper();
    for (const socket of this.idle.splice(0)) socket.destroy();
  }

  private armSweeper(ms: number): void {
    // Unref'd: idle connections alone never keep the process alive.
    this.sweeper = setTimeout(sweep, Math.max(ms, 1), this);
    this.sweeper.unref();
  }

  private disarmSweeper(): void {
    if (this.sweeper === null) return;
    clearTimeout(this.sweeper);
    this.sweeper = null;
  }

  /**
   * Closes the idle connections whose reuse time is over, and waits for the next to run out.
   * Without it they would stay open (and be counted free) until the next acquire, as long
   * as the upstream keeps them: minutes, with a long `Keep-Alive: timeout`.
   */
  sweepExpired(): void {
    this.sweeper = null;
    const now = performance.now();
    let next = Infinity;
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const socket = this.idle[i]!;
      if (now < socket.reusableUntil && !socket.destroyed) next = Math.min(next, socket.reusableUntil);
      else {
        this.idle.splice(i, 1);
        socket.destroy();
      }
    }
    if (next !== Infinity && !this.closed) this.armSweeper(Math.ceil(next - now));
  }

  private serveWaiting(): void {
    // `open` drops when the destroyed socket's 'close' fires; a waiter may already have room.
    while (this.waiting.length > 0 && this.open < this.max) {
      this.busy++;
      this.waiting.shift()!(this.connect());
    }
  }

  private connect(): PooledSocket {
    const socket = connectUpstream(this.address) as PooledSocket;
    socket.user = null;
    socket.idleSince = 0;
    socket.reusableUntil = 0;
    socket.failure = null;
    socket.setKeepAlive(true, 60_000);
    this.open++;
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.once('close', () => {
      this.open--;
      const i = this.idle.indexOf(socket);
      if (i >= 0) this.idle.splice(i, 1);
      const user = socket.user;
      if (user !== null) {
        socket.user = null;
        user.onClosed(socket.failure);
      }
      this.serveWaiting();
    });
    return socket;
  }
}

function sweep(pool: ConnectionPool): void {
  pool.sweepExpired();
}

function onData(this: PooledSocket, chunk: Buffer): void {
  if (this.user !== null) this.user.onData(chunk);
  // Bytes on an idle connection answer nothing that was asked: it cannot be trusted again.
  else this.destroy();
}

function onError(this: PooledSocket, err: Error): void {
  this.failure ??= err;
}

function onEnd(this: PooledSocket): void {
  // The upstream finished its side: whatever it was reading, the connection is over.
  this.destroy();
}
