import type { Logger } from '../logger';
import { loadTlsMaterial, type TlsMaterial } from '../tls/material';
import { FileWatch } from './file-watch';

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
 * Watches a certificate and key for rotation (by their directories: see `FileWatch`,
 * which also covers the Kubernetes `..data` symlink swap of a mounted Secret).
 * A half-written or mismatched pair is refused with a logged error and the old pair stays.
 */
export class CertificateWatcher {
  private readonly watch: FileWatch;
  private current: TlsMaterial;
  private lastError: string | undefined;

  constructor(private readonly options: CertificateWatcherOptions) {
    this.current = options.current;
    this.watch = new FileWatch({
      files: [options.certPath, options.keyPath],
      onChange: () => this.check(),
      logger: options.logger,
      errorEvent: 'tls_watch_error',
      what: 'certificate',
      debounceMs: options.debounceMs,
      pollMs: options.pollMs,
    });
  }

  /** Starts watching. */
  start(): void {
    this.watch.start();
  }

  /** Stops watching and frees every timer. */
  stop(): void {
    this.watch.stop();
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
}
