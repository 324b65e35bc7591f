import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connectUpstream, upstreamAddress, type UpstreamAddress } from './upstream-connect';

/** A connection's current user: told of what the socket reads and of its end. */
export interface ConnectionUser {
  onData(chunk: Buffer): void;
  /** The socket closed (or failed: `err`) while this user held it. */
  onClosed(err: Error | null): void;
}

/**
 * A pooled connection: its socket, and the state the pool keeps beside it. Beside it, not
 * on it: properties added to a socket give it a shape of its own, and Node's stream code,
 * which every socket in the process runs through, is compiled for the shapes it has met.
 * With the state on the pool's sockets, the first health probe under load (its socket is
 * `connectUpstream`'s alone, `get-once.ts`) threw 31 of those functions back to the
 * interpreter at once on Node 20 (`--trace-deopt`), 12 without it (docs/operations.md).
 */
export class PooledConnection {
  user: ConnectionUser | null = null;
  /** Until when (performance.now()) it may be reused, once idle. */
  reusableUntil = 0;
  /** The first error the socket reported: the reason it closed. */
  failure: Error | null = null;

  constructor(readonly socket: Socket) {}

  readonly onData = (chunk: Buffer): void => {
    if (this.user !== null) this.user.onData(chunk);
    // Bytes on an idle connection answer nothing that was asked: it cannot be trusted again.
    else this.socket.destroy();
  };

  readonly onError = (err: Error): void => {
    this.failure ??= err;
  };
}

/** Waits for a connection; `cancel` leaves the queue. */
interface Waiter {
  (connection: PooledConnection): void;
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
  private readonly idle: PooledConnection[] = [];
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
      const connection = this.idle.pop()!;
      if (now < connection.reusableUntil && !connection.socket.destroyed) {
        this.busy++;
        take(connection);
        return null;
      }
      connection.socket.destroy();
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
  release(connection: PooledConnection, reuse: boolean, idleMs: number): void {
    connection.user = null;
    this.busy--;
    if (!reuse || this.closed || connection.socket.destroyed || idleMs <= 0) connection.socket.destroy();
    else {
      connection.reusableUntil = performance.now() + idleMs;
      const next = this.waiting.shift();
      if (next !== undefined) {
        this.busy++;
        next(connection);
        return;
      }
      this.idle.push(connection);
      if (this.sweeper === null) this.armSweeper(idleMs);
      return;
    }
    this.serveWaiting();
  }

  /** Gives up a connection whose exchange broke: it is destroyed. */
  discard(connection: PooledConnection): void {
    connection.user = null;
    this.busy--;
    connection.socket.destroy();
    this.serveWaiting();
  }

  /** Closes the idle connections now, and every other one as it is released. */
  close(): void {
    this.closed = true;
    this.disarmSweeper();
    for (const connection of this.idle.splice(0)) connection.socket.destroy();
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
      const connection = this.idle[i]!;
      if (now < connection.reusableUntil && !connection.socket.destroyed) next = Math.min(next, connection.reusableUntil);
      else {
        this.idle.splice(i, 1);
        connection.socket.destroy();
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

  private connect(): PooledConnection {
    const socket = connectUpstream(this.address);
    const connection = new PooledConnection(socket);
    this.open++;
    socket.on('data', connection.onData);
    socket.on('error', connection.onError);
    socket.on('end', onEnd);
    socket.once('close', () => {
      this.open--;
      const i = this.idle.indexOf(connection);
      if (i >= 0) this.idle.splice(i, 1);
      const user = connection.user;
      if (user !== null) {
        connection.user = null;
        user.onClosed(connection.failure);
      }
      this.serveWaiting();
    });
    return connection;
  }
}

function sweep(pool: ConnectionPool): void {
  pool.sweepExpired();
}

function onEnd(this: Socket): void {
  // The upstream finished its side: whatever it was reading, the connection is over.
  this.destroy();
}
