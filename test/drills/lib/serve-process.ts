import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { within } from './report';

/** The built CLI (`dist/cryptid-gateway.js`, the bin's bundle, or under DRILL_DIST), run as operators run it. */
const BIN = join(process.env.DRILL_DIST ?? join(__dirname, '..', '..', '..', 'dist'), 'cryptid-gateway.js');

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** `cryptid-gateway serve` in a child process, stopped with a real SIGTERM. */
export class ServeProcess {
  /** SIGTERM has been sent. */
  signalled = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Every JSON log line it wrote so far, with the drill's `Date.now()` when it arrived. */
  readonly logs: { readonly at: number; readonly line: Record<string, unknown> }[] = [];
  private logWaiters: (() => void)[] = [];

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly url: string,
    earlier: readonly { at: number; line: Record<string, unknown> }[],
    lines: ReturnType<typeof createInterface>,
  ) {
    this.exited =
      child.exitCode !== null
        ? Promise.resolve({ code: child.exitCode, signal: null })
        : once(child, 'exit').then(([code, signal]) => ({ code, signal }) as { code: number | null; signal: NodeJS.Signals | null });
    this.logs.push(...earlier);
    lines.on('line', (text) => {
      const line = parseLogLine(text);
      if (line === undefined) return;
      this.logs.push({ at: Date.now(), line });
      const waiters = this.logWaiters;
      this.logWaiters = [];
      for (const w of waiters) w();
    });
  }

  /** Resolves with the drill's time of the first log line from index `from` on whose `event` is `event`. */
  untilLog(event: string, ms: number, from = 0): Promise<number> {
    const found = (): number | undefined => this.logs.slice(from).find((l) => l.line.event === event)?.at;
    return within(
      ms,
      `${this.name} log event ${event}`,
      new Promise<number>((resolve) => {
        const check = (): void => {
          const at = found();
          if (at === undefined) this.logWaiters.push(check);
          else resolve(at);
        };
        check();
      }),
    );
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts `serve` with `args` and resolves once its `listening` log line names the URL. */
  static async start(name: string, args: string[]): Promise<ServeProcess> {
    const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'inherit'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => running.forEach((c) => c.kill('SIGKILL')));
    }
    const lines = createInterface({ input: child.stdout! });
    // Lines written before it listens (and those in the same chunk as `listening`) are kept too.
    const earlier: { at: number; line: Record<string, unknown> }[] = [];
    const keep = (text: string): void => {
      const line = parseLogLine(text);
      if (line !== undefined) earlier.push({ at: Date.now(), line });
    };
    lines.on('line', keep);
    const url = await within(
      20_000,
      `${name} listening`,
      new Promise<string>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`${name}: serve exited with ${code} before listening`)));
        lines.on('line', (line) => {
          try {
            const entry = JSON.parse(line) as { event?: string; url?: string };
            if (entry.event === 'listening') resolve(String(entry.url));
          } catch {
            // not a log line
          }
        });
      }),
    );
    lines.off('line', keep);
    return new ServeProcess(name, child, url.replace('0.0.0.0', '127.0.0.1'), earlier, lines);
  }

  /** The graceful stop an orchestrator asks for. */
  terminate(): void {
    this.signalled = true;
    this.child.kill('SIGTERM');
  }

  /** Kills it at once if it is still running (cleanup after a failed drill). */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

function parseLogLine(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
