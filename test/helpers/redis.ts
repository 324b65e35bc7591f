import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireExecutable } from './executables';

/** Every wait on a Redis process is bounded by this. */
const START_DEADLINE_MS = 15_000;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A port that was free a moment ago (Redis Cluster needs fixed ports: `--port 0` turns TCP off). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Rejects after `ms` unless `work` settles first; the timer is freed either way. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RedisOptions {
  /** `requirepass`: clients must authenticate. */
  password?: string;
  /** A Cluster node (`cluster-enabled yes`, its own config file). */
  cluster?: boolean;
  /** Keep this port (a restart after `kill()`). */
  port?: number;
}

/** A real `redis-server` on 127.0.0.1, started by the test and stopped by it. */
export class RedisProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly options: RedisOptions,
  ) {}

  /** Starts a server (no persistence, data in a temporary directory) and resolves once it accepts connections. */
  static async start(options: RedisOptions = {}): Promise<RedisProcess> {
    const port = options.port ?? (await freePort());
    const redis = new RedisProcess(port, mkdtempSync(join(tmpdir(), 'cryptid-redis-')), options);
    await redis.launch();
    return redis;
  }

  /** `redis://[:password@]127.0.0.1:PORT` */
  get url(): string {
    return `redis://${this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`}127.0.0.1:${this.port}`;
  }

  /** `127.0.0.1:PORT` */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server again on the same port (after `kill()`), with empty data. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** A slow Redis: the process stops answering (SIGSTOP) while its connections stay open. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Lets a paused Redis go on (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** A gone Redis: killed at once (SIGKILL, after SIGCONT so that a paused one dies too). */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await within(START_DEADLINE_MS, `redis ${this.port} exit`, this.exited);
  }

  /** Kills the server and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** `redis-cli` against this server; its standard output. */
  cli(...args: string[]): string {
    const auth = this.options.password === undefined ? [] : ['-a', this.options.password, '--no-auth-warning'];
    const r = spawnSync(requireExecutable('redis-cli', 'redis-server'), ['-h', '127.0.0.1', '-p', String(this.port), ...auth, ...args], {
      encoding: 'utf8',
      timeout: START_DEADLINE_MS,
    });
    if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  private async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir];
    if (this.options.password !== undefined) args.push('--requirepass', this.options.password);
    if (this.options.cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(this.dir, `nodes-${this.port}.conf`));
    const child = spawn(requireExecutable('redis-server', 'redis-server'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => running.forEach((c) => c.kill('SIGKILL')));
    }
    this.exited = once(child, 'exit').then(() => void running.delete(child));
    let output = '';
    await within(
      START_DEADLINE_MS,
      `redis-server on ${this.port}`,
      new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Ready to accept connections')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`redis-server exited with ${code} before it was ready: ${output.slice(-500)}`)));
      }),
    );
    // Read on, so that a full pipe never blocks the server.
    child.stdout?.resume();
    child.stderr?.resume();
  }
}

/** A real three-node Redis Cluster (no replicas) on 127.0.0.1, every slot assigned. */
export class RedisCluster {
  private constructor(readonly nodes: readonly RedisProcess[]) {}

  static async start(): Promise<RedisCluster> {
    const nodes: RedisProcess[] = [];
    try {
      for (let i = 0; i < 3; i++) nodes.push(await RedisProcess.start({ cluster: true }));
      const create = spawnSync(
        requireExecutable('redis-cli', 'redis-server'),
        ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', '0', '--cluster-yes'],
        { encoding: 'utf8', timeout: START_DEADLINE_MS },
      );
      if (create.status !== 0) throw new Error(`redis-cli --cluster create: ${create.stderr || create.stdout}`);
      const cluster = new RedisCluster(nodes);
      await cluster.untilOk();
      return cluster;
    } catch (err) {
      await Promise.all(nodes.map((n) => n.stop()));
      throw err;
    }
  }

  /** Seed nodes as `host:port`. */
  get addresses(): string[] {
    return this.nodes.map((n) => n.address);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }

  /** Resolves once every node says `cluster_state:ok` (slots spread by gossip, so it takes a moment). */
  private async untilOk(): Promise<void> {
    const deadline = Date.now() + START_DEADLINE_MS;
    for (;;) {
      if (this.nodes.every((n) => n.cli('cluster', 'info').includes('cluster_state:ok'))) return;
      if (Date.now() > deadline) throw new Error('redis cluster: cluster_state is not ok after 15 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Every key under `prefix` (the counters the gateway wrote), by scanning. */
export function keysUnder(redis: RedisProcess, prefix: string): string[] {
  return redis
    .cli('--scan', '--pattern', `${prefix}*`)
    .split('\n')
    .filter((k) => k !== '');
}
