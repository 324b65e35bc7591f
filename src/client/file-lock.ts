import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/** A lock file older than this was left by a crashed process and is broken. */
const STALE_MS = 30_000;

/** How long to wait for a lock, and when a left-over lock counts as abandoned. */
export interface FileLockOptions {
  /** Give up after this long (the store's `lockTimeoutMs`). */
  readonly timeoutMs: number;
  /** A lock file older than this is broken. @default 30000 */
  readonly staleMs?: number;
}

/** Thrown when the lock could not be taken in time; `lockPath` names the file to inspect. */
export class FileLockTimeout extends Error {
  override readonly name = 'FileLockTimeout';
  constructor(readonly lockPath: string) {
    super(`${lockPath} is held by another process`);
  }
}

/**
 * Runs `fn` while holding `${path}.lock`, created with O_EXCL (the one primitive that is
 * atomic across processes on every local file system). The lock holds a random token so
 * that a holder never removes a lock that is not its own.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: FileLockOptions): Promise<T> {
  const lockPath = `${path}.lock`;
  const token = `${process.pid} ${randomBytes(8).toString('hex')}`;
  await acquire(lockPath, token, options.timeoutMs, options.staleMs ?? STALE_MS);
  try {
    return await fn();
  } finally {
    await release(lockPath, token);
  }
}

async function acquire(lockPath: string, token: string, timeoutMs: number, staleMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(`${token}\n`);
      } finally {
        await handle.close();
      }
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    await breakIfStale(lockPath, staleMs);
    if (Date.now() >= deadline) throw new FileLockTimeout(lockPath);
    // Jittered back-off so that waiting writers do not retry in lock step.
    await delay(5 + Math.floor(Math.random() * 20));
  }
}

async function breakIfStale(lockPath: string, staleMs: number): Promise<void> {
  try {
    const info = await stat(lockPath);
    if (Date.now() - info.mtimeMs < staleMs) return;
    // Rename first: of several processes breaking the same stale lock, only one succeeds.
    const aside = `${lockPath}.stale-${randomBytes(4).toString('hex')}`;
    await rename(lockPath, aside);
    await unlink(aside);
  } catch {
    // Gone meanwhile, or someone else broke it: just retry.
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  try {
    if ((await readFile(lockPath, 'utf8')).trim() === token) await unlink(lockPath);
  } catch {
    // Already broken as stale by another process: nothing of ours to remove.
  }
}
