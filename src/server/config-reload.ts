import { readFileSync } from 'node:fs';
import type { Logger } from '../logger';
import { FileWatch } from './file-watch';

/** Where a running sidecar reads its configuration again. */
export interface ConfigSource {
  /** The raw options, read anew with the same layering as at start (flags > environment > file). Throws `ConfigError`. */
  read(): unknown;
  /** The configuration file, when there is one: a change to it on disk triggers a reload. */
  readonly file?: string | undefined;
}

/** What the configuration file watcher needs. */
export interface ConfigFileWatcherOptions {
  readonly file: string;
  /** Re-reads and applies the configuration (the sidecar's `reload()`). */
  readonly reload: () => void;
  readonly logger: Logger;
  /** @default 100 */
  readonly debounceMs?: number | undefined;
  /** @default 30000 */
  readonly pollMs?: number | undefined;
}

/**
 * Reloads when the configuration file's content changes: a plain overwrite, a
 * rename-replace, a Kubernetes ConfigMap `..data` swap (see `FileWatch`). It compares
 * contents, so an event that changed nothing (or a poll) does not reload, and a broken
 * file is refused, and logged, once per distinct content rather than on every poll.
 */
export class ConfigFileWatcher {
  private readonly watch: FileWatch;
  private lastSeen: string;

  constructor(private readonly options: ConfigFileWatcherOptions) {
    this.lastSeen = snapshot(options.file);
    this.watch = new FileWatch({
      files: [options.file],
      onChange: () => this.check(),
      logger: options.logger,
      errorEvent: 'config_watch_error',
      what: 'configuration',
      debounceMs: options.debounceMs,
      pollMs: options.pollMs,
    });
  }

  start(): void {
    this.watch.start();
  }

  stop(): void {
    this.watch.stop();
  }

  /** Reloads if the file differs from what was last seen. Returns true when it did. */
  check(): boolean {
    const now = snapshot(this.options.file);
    if (now === this.lastSeen) return false;
    this.lastSeen = now;
    this.options.reload();
    return true;
  }
}

/** The file's content, or what stands for it when it cannot be read (a missing file is a content of its own). */
function snapshot(file: string): string {
  try {
    return `ok:${readFileSync(file, 'utf8')}`;
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`;
  }
}
