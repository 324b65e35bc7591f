import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../logger';

/** Both halves of a rotation (or every write of an editor's save) land within this long of each other. */
const DEBOUNCE_MS = 100;
/** File systems that do not report changes are re-read this often. */
const POLL_MS = 30000;

/** What to watch, whom to tell, and how to name a failure to watch in the log. */
export interface FileWatchOptions {
  /** The files; their directories are what is watched. */
  readonly files: readonly string[];
  /** Called after the events settle, and on every poll: the caller reads the files and decides whether they changed. */
  readonly onChange: () => void;
  readonly logger: Logger;
  /** `event` of the warning logged when a directory cannot be watched (`tls_watch_error`). */
  readonly errorEvent: string;
  /** What the files are, for that warning ("certificate", "configuration"). */
  readonly what: string;
  /** Wait this long after the last event before calling `onChange`. @default 100 */
  readonly debounceMs?: number | undefined;
  /** Call `onChange` this often even without events. @default 30000 */
  readonly pollMs?: number | undefined;
}

/**
 * Watches files by their directories, not the files themselves: Kubernetes updates a
 * mounted Secret or ConfigMap by swapping the `..data` symlink, and an editor or
 * cert-manager may replace a file by rename; both show only on the directory (a watch
 * on the old file would stay on the replaced inode). Events are debounced, and a poll
 * covers file systems that report nothing. The caller compares contents: this only says
 * when to look.
 */
export class FileWatch {
  private readonly watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(private readonly options: FileWatchOptions) {}

  /** Starts watching. */
  start(): void {
    const { logger, errorEvent, what } = this.options;
    for (const dir of new Set(this.options.files.map((file) => dirname(file)))) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.schedule());
        watcher.on('error', (err) => logger.warn({ event: errorEvent, err: err.message }, `${what} directory watch failed; polling only`));
        this.watchers.push(watcher);
      } catch (err) {
        logger.warn({ event: errorEvent, err: (err as Error).message }, `cannot watch ${what} directory; polling only`);
      }
    }
    this.poll = setInterval(() => this.options.onChange(), this.options.pollMs ?? POLL_MS);
    this.poll.unref();
  }

  /** Stops watching and frees every timer. */
  stop(): void {
    for (const watcher of this.watchers.splice(0)) watcher.close();
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    this.debounce = this.poll = undefined;
  }

  private schedule(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.options.onChange();
    }, this.options.debounceMs ?? DEBOUNCE_MS);
    this.debounce.unref();
  }
}
