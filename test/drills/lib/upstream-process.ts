import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { within } from './report';

const CHILD = join(__dirname, 'upstream-child.ts');
const REGISTER = join(__dirname, '..', '..', 'helpers', 'ts-register.js');

type Reply = { type: 'ready'; url: string } | { type: 'done'; id: number };

/** `SwitchableUpstream` (healthy probe at `/v1/health`, JSON answers) in its own process: killed and started again on the same port. */
export class UpstreamProcess {
  private nextId = 1;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(): Promise<UpstreamProcess> {
    const child = fork(CHILD, [], { execArgv: ['-r', REGISTER], env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const kill = (): void => void child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.off('exit', kill));
    const ready = await within(
      20_000,
      'upstream process start',
      new Promise<string>((resolve, reject) => {
        child.on('message', (m: Reply) => m.type === 'ready' && resolve(m.url));
        child.once('exit', (code) => reject(new Error(`upstream process exited with ${code}`)));
      }),
    );
    return new UpstreamProcess(child, ready);
  }

  /** Closes its port and every connection: refused from now on. */
  kill(): Promise<void> {
    return this.command('kill');
  }

  /** Listens again on the same port. */
  start(): Promise<void> {
    return this.command('start');
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    const exited = once(this.child, 'exit');
    this.child.disconnect();
    await within(10_000, 'upstream process exit', exited).catch(() => this.child.kill('SIGKILL'));
  }

  private command(type: 'kill' | 'start' | 'close'): Promise<void> {
    const id = this.nextId++;
    const done = new Promise<void>((resolve) => {
      const onMessage = (m: Reply): void => {
        if (m.type !== 'done' || m.id !== id) return;
        this.child.off('message', onMessage);
        resolve();
      };
      this.child.on('message', onMessage);
    });
    this.child.send({ id, type });
    return within(10_000, `upstream ${type}`, done);
  }
}
