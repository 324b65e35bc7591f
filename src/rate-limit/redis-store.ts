import { createHash } from 'node:crypto';
import { decision, type Decision } from './sliding-window';
import { SCRIPT_COMMAND, type ScriptClient } from './redis-script';
import { ProbeTimeout } from './store-health';

/** Hex digits of the SHA-256 kept in a key: 128 bits, no collision to fear, short keys. */
const DIGEST_HEX = 32;

/** Checks per script call at most (Lua's stack and Redis' argument lists stay small). */
const MAX_BATCH = 200;

/**
 * The base of a key's two windows: `prefix{rule:digest}`. The client key (an address, a
 * token's hash) is hashed again, so no address or token appears in Redis, in its slow log
 * or in a `MONITOR`. Pure.
 */
export function redisKeyBase(keyPrefix: string, rule: string, clientKey: string): string {
  return `${keyPrefix}{${rule}:${createHash('sha256').update(clientKey).digest('hex').slice(0, DIGEST_HEX)}}`;
}

/** Key bases remembered, so that a key checked again (the flood case) is not hashed again; forgotten all at once when full. */
const BASE_CACHE_SIZE = 4096;

/** One check waiting for its batch. */
interface Pending {
  readonly base: string;
  readonly limit: number;
  readonly windowMs: number;
  readonly resolve: (d: Decision) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Sliding-window counters in Redis, shared by every replica that uses the same Redis and
 * prefix. The checks of one turn of the event loop go to Redis together, in one script call
 * (one per key in a Cluster, where keys live in different slots): per request, the client
 * library's work and the bytes written shrink to a fraction. Every check settles within
 * `timeoutMs` of its turn: with Redis' answer, or rejected (`ProbeTimeout`, or Redis' error).
 */
export class RedisStore {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly bases = new Map<string, string>();
  private readonly flush = (): void => this.send();

  constructor(
    private readonly client: ScriptClient,
    private readonly keyPrefix: string,
    private readonly timeoutMs: number,
    /** A Cluster takes the keys of one call from one slot only. */
    private readonly cluster: boolean,
  ) {}

  /** Checks one request and counts it if admitted. */
  hit(rule: string, clientKey: string, limit: number, windowMs: number): Promise<Decision> {
    const base = this.baseOf(rule, clientKey);
    return new Promise((resolve, reject) => {
      this.queue.push({ base, limit, windowMs, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the I/O callbacks of this turn: every request that arrived in it joins.
        setImmediate(this.flush);
      }
    });
  }

  private baseOf(rule: string, clientKey: string): string {
    const id = `${rule}\n${clientKey}`;
    let base = this.bases.get(id);
    if (base === undefined) {
      if (this.bases.size >= BASE_CACHE_SIZE) this.bases.clear();
      base = redisKeyBase(this.keyPrefix, rule, clientKey);
      this.bases.set(id, base);
    }
    return base;
  }

  private send(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    if (this.cluster) {
      const byKey = new Map<string, Pending[]>();
      for (const p of queue) {
        const same = byKey.get(p.base);
        if (same === undefined) byKey.set(p.base, [p]);
        else same.push(p);
      }
      for (const batch of byKey.values()) this.call(batch);
      return;
    }
    for (let i = 0; i < queue.length; i += MAX_BATCH) this.call(queue.slice(i, i + MAX_BATCH));
  }

  private call(batch: readonly Pending[]): void {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      const timeout = new ProbeTimeout();
      for (const p of batch) p.reject(timeout);
    }, this.timeoutMs);
    const args: (string | number)[] = [];
    for (const p of batch) args.push(p.base);
    for (const p of batch) args.push(p.windowMs, p.limit);
    this.client[SCRIPT_COMMAND](batch.length, ...args).then(
      (out) => {
        if (settled) return;
        clearTimeout(timer);
        for (let i = 0; i < batch.length; i++) {
          const p = batch[i] as Pending;
          const o = 4 * i;
          p.resolve(decision(out[o] === 1, p.limit, out[o + 2] as number, out[o + 1] as number, out[o + 3] as number, p.windowMs));
        }
      },
      (err: unknown) => {
        if (settled) return;
        clearTimeout(timer);
        for (const p of batch) p.reject(err);
      },
    );
  }
}
