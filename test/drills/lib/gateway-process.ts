import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { ChildMessage, ChildSetup, GatewayStats, ParentMessage } from './gateway-protocol';
import { within } from './report';

const CHILD = join(__dirname, 'gateway-child.js');

/** Children still running, killed if the drill process exits first (nothing outlives a drill). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function killLeftovers(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** A status change or certificate rotation as the gateway process reported it. */
export interface Timed<T> {
  readonly value: T;
  /** Why (status changes only). */
  readonly reason?: string;
  /** `Date.now()` in the gateway process when it happened. */
  readonly at: number;
}

/**
 * The gateway under drill in its own process (`gateway-child.js`, running the built
 * package): its RSS, descriptors and sockets are its own, a crash is an exit.
 */
export class GatewayProcess {
  readonly statuses: Timed<string>[] = [];
  readonly certificates: Timed<string>[] = [];
  certificateErrors = 0;
  status = 'unknown';
  private nextId = 1;
  private readonly pending = new Map<number, (stats: GatewayStats) => void>();
  private waiters: (() => void)[] = [];
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly url: string,
  ) {}

  /** Forks the gateway and resolves once it listens on 127.0.0.1. */
  static async start(setup: ChildSetup): Promise<GatewayProcess> {
    const child = fork(CHILD, [], {
      execArgv: ['--expose-gc'],
      env: { PATH: process.env.PATH ?? '', DRILL_GATEWAY: JSON.stringify(setup), ...(process.env.DRILL_DIST && { DRILL_DIST: process.env.DRILL_DIST }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    running.add(child);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', killLeftovers);
    }
    child.once('exit', () => running.delete(child));
    const ready = await within(
      20_000,
      'gateway process start',
      new Promise<Extract<ChildMessage, { type: 'ready' }>>((resolve, reject) => {
        child.on('message', (m: ChildMessage) => m.type === 'ready' && resolve(m));
        child.once('exit', (code) => reject(new Error(`gateway process exited with ${code} before listening`)));
      }),
    );
    const scheme = setup.mode === 'sidecar' ? 'https' : 'http';
    const gw = new GatewayProcess(child, ready.port, `${scheme}://127.0.0.1:${ready.port}`);
    gw.status = ready.status;
    gw.statuses.push({ value: ready.status, at: Date.now() });
    child.on('message', (m: ChildMessage) => gw.onMessage(m));
    child.once('exit', (code, signal) => {
      gw.exited = { code, signal };
      gw.wake();
    });
    return gw;
  }

  /** Whether the process is still running (a crash is an exit nobody asked for). */
  get alive(): boolean {
    return this.exited === undefined;
  }

  /** How it exited, for a report. */
  get exitDescription(): string {
    if (!this.exited) return 'running';
    return this.exited.signal ? `killed by ${this.exited.signal}` : `exited with ${this.exited.code}`;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Asks the process for its own figures (after a full GC, unless `quick`). */
  stats(quick = false): Promise<GatewayStats> {
    const id = this.nextId++;
    const answer = new Promise<GatewayStats>((resolve) => this.pending.set(id, resolve));
    this.sendMessage({ type: 'stats', id, ...(quick && { quick }) });
    return within(10_000, 'gateway stats', answer);
  }

  /**
   * Resolves with the time of the first status at or after index `from` of `statuses`
   * that is `wanted` (or satisfies it).
   */
  async untilStatus(wanted: string | ((status: string) => boolean), ms: number, from = 0): Promise<number> {
    const matches = typeof wanted === 'string' ? (s: string) => s === wanted : wanted;
    const what = typeof wanted === 'string' ? wanted : 'a status';
    return within(
      ms,
      `gateway status ${what}`,
      this.until(() => this.statuses.slice(from).find((s) => matches(s.value))?.at),
    );
  }

  /** Resolves with the time the gateway applied the certificate with `fingerprint`. */
  async untilCertificate(fingerprint: string, ms: number): Promise<number> {
    return within(
      ms,
      `certificate ${fingerprint.slice(0, 20)}…`,
      this.until(() => this.certificates.find((c) => c.value === fingerprint)?.at),
    );
  }

  /**
   * Polls the process's own figures until `predicate` holds or `ms` pass (descriptors
   * close asynchronously and have no event to await across processes); the last figures either way.
   */
  async statsUntil(predicate: (s: GatewayStats) => boolean, ms: number, options: { quick?: boolean; everyMs?: number } = {}): Promise<GatewayStats> {
    const end = Date.now() + ms;
    for (;;) {
      const stats = await this.stats(options.quick);
      if (predicate(stats) || Date.now() >= end) return stats;
      await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 100));
    }
  }

  /** Asks it to close; kills it if it has not exited within 10 s. */
  async close(): Promise<void> {
    if (!this.alive) return;
    const exited = once(this.child, 'exit');
    this.sendMessage({ type: 'close' });
    try {
      await within(10_000, 'gateway process exit', exited);
    } catch {
      this.child.kill('SIGKILL');
      await exited;
    }
  }

  private sendMessage(message: ParentMessage): void {
    if (this.child.connected) this.child.send(message);
  }

  private async until<T>(found: () => T | undefined): Promise<T> {
    for (;;) {
      const value = found();
      if (value !== undefined) return value;
      if (!this.alive) throw new Error(`gateway process ${this.exitDescription}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private onMessage(m: ChildMessage): void {
    switch (m.type) {
      case 'status':
        this.status = m.status;
        this.statuses.push({ value: m.status, reason: m.reason, at: m.at });
        break;
      case 'certificate':
        this.certificates.push({ value: m.fingerprint, at: m.at });
        break;
      case 'certificateError':
        this.certificateErrors++;
        break;
      case 'stats':
        this.pending.get(m.id)?.(m.stats);
        this.pending.delete(m.id);
        break;
      case 'ready':
        break;
    }
    this.wake();
  }
}
