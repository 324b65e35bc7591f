import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as z from 'zod/mini';
import { fingerprintField } from '../protocol/document';
import { safeParse } from '../validation/parse';
import { DiscoveryError } from './errors';
import { FileLockTimeout, withFileLock } from './file-lock';
import type { TofuStore } from './tofu-store';

/** One line of the known-servers file. */
export interface KnownServer {
  /** `sha256:…` of the certificate trusted for the domain. */
  fingerprint: string;
  /** When the domain was first seen (ISO 8601). */
  first_seen: string;
  /** When this fingerprint was pinned: first sight, or the last explicit acceptance. */
  pinned_at: string;
}

/** Options of `FileTofuStore`. */
export interface FileTofuStoreOptions {
  /** Clock for the file's timestamps (Unix ms). @default Date.now */
  now?: () => number;
  /** How long a writer waits for another one. @default 5000 */
  lockTimeoutMs?: number;
}

const FORMAT_VERSION = 1;

// Loose objects: fields a later version adds survive a rewrite by this one.
const knownServerSchema = z.looseObject({
  fingerprint: fingerprintField,
  first_seen: z.string(),
  pinned_at: z.string(),
});
const fileSchema = z.looseObject({
  version: z.literal(FORMAT_VERSION, { error: `expected "version": ${FORMAT_VERSION}` }),
  servers: z.record(z.string(), knownServerSchema),
});
type KnownServersFile = z.infer<typeof fileSchema>;

/**
 * Pins kept in a JSON file, in the spirit of SSH's `known_hosts`: one entry per domain,
 * indented, sorted, meant to be read and edited by people:
 *
 * ```json
 * { "version": 1,
 *   "servers": { "chat.example.com": { "fingerprint": "sha256:…", "first_seen": "…", "pinned_at": "…" } } }
 * ```
 *
 * Writes take a lock file (O_EXCL), re-read the file, merge, and replace it atomically
 * (temporary file, fsync, rename), so two processes pinning at once both keep their
 * entry and a reader never sees half a file. A file that does not parse is reported as
 * `TOFU_STORE_ERROR` and never overwritten: it holds trust decisions.
 */
export class FileTofuStore implements TofuStore {
  private readonly now: () => number;
  private readonly lockTimeoutMs: number;

  constructor(
    /** Path of the known-servers file; created on first write, with its directory. */
    readonly path: string,
    options: FileTofuStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 5000;
  }

  async get(domain: string): Promise<string | undefined> {
    return (await this.read()).servers[domain]?.fingerprint;
  }

  async set(domain: string, fingerprint: string): Promise<void> {
    if (!safeParse(fingerprintField, fingerprint).success) throw new TypeError('fingerprint must be "sha256:" + 64 lower-case hex');
    await this.update((file) => {
      const at = new Date(this.now()).toISOString();
      const old = file.servers[domain];
      if (old?.fingerprint === fingerprint) return false;
      file.servers[domain] = { ...old, fingerprint, first_seen: old?.first_seen ?? at, pinned_at: at };
      return true;
    });
  }

  /** Forgets `domain`: its next discovery is a first sight again. */
  async delete(domain: string): Promise<void> {
    await this.update((file) => domain in file.servers && delete file.servers[domain]);
  }

  /** Every entry, by domain. */
  async entries(): Promise<Readonly<Record<string, KnownServer>>> {
    return (await this.read()).servers;
  }

  /** Read-merge-write under the lock; `change` returns false when there is nothing to write. */
  private async update(change: (file: KnownServersFile) => boolean): Promise<void> {
    try {
      // Owner-only: the file says which servers this user talks to. Made before the lock, which lives beside the file.
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await withFileLock(
        this.path,
        async () => {
          const file = await this.read();
          if (change(file)) await this.write(file);
        },
        { timeoutMs: this.lockTimeoutMs },
      );
    } catch (error) {
      if (error instanceof DiscoveryError) throw error;
      if (error instanceof FileLockTimeout) {
        throw new DiscoveryError(
          'TOFU_STORE_ERROR',
          `known-servers file ${this.path} stayed locked for ${this.lockTimeoutMs} ms (remove ${error.lockPath} if no other discovery is running)`,
          { cause: error },
        );
      }
      throw this.ioError('could not be written', error);
    }
  }

  private async read(): Promise<KnownServersFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: FORMAT_VERSION, servers: {} };
      throw this.ioError('could not be read', error);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw this.corrupt(['not valid JSON'], error);
    }
    const parsed = safeParse(fileSchema, json);
    if (!parsed.success) {
      throw this.corrupt(parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`));
    }
    return parsed.data;
  }

  private async write(file: KnownServersFile): Promise<void> {
    const servers = Object.fromEntries(Object.entries(file.servers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const text = `${JSON.stringify({ ...file, servers }, null, 2)}\n`;
    const temp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  private corrupt(problems: string[], cause?: unknown): DiscoveryError {
    return new DiscoveryError('TOFU_STORE_ERROR', `known-servers file ${this.path} is corrupt (${problems.join('; ')}); fix or remove it — it was left untouched`, {
      problems,
      cause,
    });
  }

  private ioError(what: string, cause: unknown): DiscoveryError {
    const code = (cause as NodeJS.ErrnoException | null)?.code ?? 'error';
    return new DiscoveryError('TOFU_STORE_ERROR', `known-servers file ${this.path} ${what} (${code})`, { cause });
  }
}
