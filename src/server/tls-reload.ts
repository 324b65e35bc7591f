import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../logger';
import { loadTlsMaterial, type TlsMaterial } from '../tls/material';

/** Both halves of a rotation land within this long of each other. */
const DEBOUNCE_MS = 100;
/** File systems that do not report changes are re-read this often. */
const POLL_MS = 30000;

/** What the watcher watches and whom it tells. */
export interface CertificateWatcherOptions {
  readonly certPath: string;
  readonly keyPath: string;
  /** The pair currently served. */
  readonly current: TlsMaterial;
  /** Called with a new, checked pair; the caller swaps the TLS context and the fingerprint together. */
  readonly onChange: (material: TlsMaterial) => void;
  /** Called when a changed pair was refused (once per distinct problem). */
  readonly onError?: (err: Error) => void;
  readonly logger: Logger;
  /** Wait this long after the last file event before reading, so both halves of a rotation land. @default 100 */
  readonly debounceMs?: number;
  /** Re-read this often even without events (file systems that do not report changes). @default 30000 */
  readonly pollMs?: number;
}

/**
 * Watches a certificate and key for rotation. It watches the directories, not the files:
 * Kubernetes rotates a mounted Secret by swapping the `..data` symlink, and an
 * editor or cert-manager may replace a file by rename; both only show on the directory.
 * A half-written or mismatched pair is refused with a logged error and the old pair stays.
 */
export class CertificateWatcher {
  private readonly watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private current: TlsMaterial;
  private lastError: string | undefined;

  constructor(private readonly options: CertificateWatcherOptions) {
    this.current = options.current;
  }

  /** Starts watching. */
  start(): void {
    for (const dir of new Set([dirname(this.options.certPath), dirname(this.options.keyPath)])) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.schedule());
        watcher.on('error', (err) => this.options.logger.warn({ event: 'tls_watch_error', err: err.message }, 'certificate directory watch failed; polling only'));
        this.watchers.push(watcher);
      } catch (err) {
        this.options.logger.warn({ event: 'tls_watch_error', err: (err as Error).message }, 'cannot watch certificate directory; polling only');
      }
    }
    this.poll = setInterval(() => this.check(), this.options.pollMs ?? POLL_MS);
    this.poll.unref();
  }

  /** Stops watching and frees every timer. */
  stop(): void {
    for (const watcher of this.watchers.splice(0)) watcher.close();
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    this.debounce = this.poll = undefined;
  }

  /** Reads the files now and applies them if they changed and are usable. Returns true on a change. */
  check(): boolean {
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(this.options.certPath, this.options.keyPath);
    } catch (err) {
      const message = (err as Error).message;
      // One log line per distinct problem: a rotation in progress fires many events.
      if (message !== this.lastError) {
        this.lastError = message;
        this.options.logger.error({ event: 'tls_reload_failed', err: message }, 'certificate reload refused; still serving the previous certificate');
        this.options.onError?.(err as Error);
      }
      return false;
    }
    this.lastError = undefined;
    if (next.certPem.equals(this.current.certPem) && next.keyPem !== undefined && this.current.keyPem?.equals(next.keyPem)) return false;
    this.current = next;
    this.options.onChange(next);
    return true;
  }

  private schedule(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.check();
    }, this.options.debounceMs ?? DEBOUNCE_MS);
    this.debounce.unref();
  }
}
