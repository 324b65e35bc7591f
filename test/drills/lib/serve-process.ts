import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { within } from './report';

/** The built CLI (`dist/cli/main.js`, or under DRILL_DIST), run as operators run it. */
const BIN = join(process.env.DRILL_DIST ?? join(__dirname, '..', '..', '..', 'dist'), 'cli', 'main.js');

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** `cryptid-gateway serve` in a child process, stopped with a real SIGTERM. */
export class ServeProcess {
  /** SIGTERM has been sent. */
  signalled = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    this.exited = child.exitCode !== null ? Promise.resolve({ code: child.exitCode, signal: null }) : once(child, 'exit').then(([code, signal]) => ({ code, signal }) as { code: number | null; signal: NodeJS.Signals | null });
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
    return new ServeProcess(name, child, url.replace('0.0.0.0', '127.0.0.1'));
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
