import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger';
import type { DocumentOverrides, DocumentTemplate } from '../protocol/document';
import { fetchUpstreamDocument, type FetchOutcome } from './fetch-document';
import { readUpstreamAnswer } from './upstream-answer';

/** What one refresh concluded: a valid document, an answer that is none, or no answer at all. */
export type RefreshResult = 'ok' | 'invalid' | 'unreachable';

/** Every refresh result, as metrics label them. */
export const REFRESH_RESULTS: readonly RefreshResult[] = ['ok', 'invalid', 'unreachable'];

/** Until the first valid document, the upstream is asked this often (or every `refreshMs`, if that is shorter). */
export const FIRST_DOCUMENT_RETRY_MS = 5000;

/** A fetch without a complete answer by then is `unreachable` (or by `refreshMs`, if that is shorter). */
export const FETCH_TIMEOUT_MS = 10_000;

/** Where the document comes from and what the gateway is told. */
export interface UpstreamDocumentOptions {
  /** The upstream origin (`ResolvedConfig.upstream`). */
  readonly upstream: URL;
  /** Time between fetches once there is a valid document (`discovery.refreshMs`). */
  readonly refreshMs: number;
  /** `discovery.document`: laid over the upstream's fields. */
  readonly overrides: DocumentOverrides;
  readonly logger: Logger;
  /** A document to publish: the first valid one, then each one that differs. */
  readonly onDocument: (template: DocumentTemplate) => void;
  /** Every refresh's result (metrics). */
  readonly onRefresh?: ((result: RefreshResult) => void) | undefined;
}

/** The events of an {@link UpstreamDocumentSource}. */
export interface UpstreamDocumentEvents {
  /** One fetch was read and acted on (the new document, if any, is already published). */
  refreshed: [result: RefreshResult];
}

/**
 * The discovery document of `discovery.source: upstream`: fetched from
 * `{upstream}/.well-known/cryptid` at start and every `refreshMs`, read by
 * {@link readUpstreamAnswer}. A fetch that brings no valid document changes nothing: the last
 * valid one stays published (before the first one, discovery answers 503). Each problem is
 * logged once per change of what the upstream answers, not once per fetch.
 */
export class UpstreamDocumentSource extends EventEmitter<UpstreamDocumentEvents> {
  private current: DocumentTemplate | undefined;
  private currentText: string | undefined;
  /** What the last failed refresh saw (a hash of the answer, or the reason there was none), so it is logged once. */
  private lastProblem: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  /** Refreshes run one after another, never two at once. */
  private chain: Promise<unknown> = Promise.resolve();
  private started = false;
  private closed = false;

  constructor(private readonly options: UpstreamDocumentOptions) {
    super();
  }

  /** The document last read from the upstream (overrides applied), or undefined before the first valid one. */
  get document(): DocumentTemplate | undefined {
    return this.current;
  }

  /** Fetches at once, then on the timer (unref'd: it never keeps the process alive). Idempotent. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.refresh();
  }

  /**
   * Fetches now (after a refresh in progress, if any) and reschedules the next one.
   * Resolves to the result; to undefined once closed. Never rejects.
   */
  refresh(): Promise<RefreshResult | undefined> {
    const run = this.chain.then(() => this.refreshOnce());
    this.chain = run;
    return run;
  }

  /** Stops the timer and aborts a fetch in progress; resolves once it has ended. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.chain;
  }

  private async refreshOnce(): Promise<RefreshResult | undefined> {
    if (this.closed) return undefined;
    clearTimeout(this.timer);
    const { upstream, refreshMs } = this.options;
    const outcome = await fetchUpstreamDocument(upstream, Math.min(FETCH_TIMEOUT_MS, refreshMs), this.abort.signal);
    if (this.closed) return undefined;
    let result: RefreshResult = 'invalid';
    try {
      result = outcome.kind === 'unreachable' ? this.unreachable(outcome.reason) : this.answered(outcome);
    } catch (err) {
      // Publishing failed (a bug, not the upstream's doing): logged, and the schedule goes on.
      this.options.logger.error(
        { event: 'discovery_refresh_error', err: err instanceof Error ? err.message : String(err) },
        'could not publish the upstream discovery document',
      );
    } finally {
      this.schedule();
    }
    this.options.onRefresh?.(result);
    this.emit('refreshed', result);
    return result;
  }

  private schedule(): void {
    const { refreshMs } = this.options;
    this.timer = setTimeout(() => void this.refresh(), this.current === undefined ? Math.min(FIRST_DOCUMENT_RETRY_MS, refreshMs) : refreshMs);
    this.timer.unref();
  }

  private answered(outcome: Exclude<FetchOutcome, { kind: 'unreachable' }>): RefreshResult {
    const read = readUpstreamAnswer(outcome, this.options.overrides);
    if (!read.ok) {
      const seen = outcome.kind === 'answer' ? `${outcome.status}\n${outcome.body}` : `${outcome.status}\noversized`;
      this.failed(`invalid:${createHash('sha256').update(seen).digest('base64url')}`, { result: 'invalid', problems: read.problems }, 'is invalid');
      return 'invalid';
    }
    this.recovered();
    const text = JSON.stringify(read.template);
    if (text === this.currentText) return 'ok';
    const previous = this.current;
    this.options.onDocument(read.template);
    this.current = read.template;
    this.currentText = text;
    const changed = changedFields(previous, read.template);
    this.options.logger.info(
      { event: 'discovery_document_changed', changed, first: previous === undefined },
      previous === undefined ? "serving the upstream's discovery document" : `the upstream's discovery document changed: ${changed.join(', ')}`,
    );
    return 'ok';
  }

  private unreachable(reason: string): RefreshResult {
    this.failed(`unreachable:${reason}`, { result: 'unreachable', reason }, 'could not be fetched');
    return 'unreachable';
  }

  /** Logs a failed refresh, unless the previous one failed on the very same answer (or for the same reason). */
  private failed(problem: string, fields: Record<string, unknown>, what: string): void {
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    const keeping = this.current === undefined ? 'discovery answers 503 until it is' : 'the last valid one stays published';
    this.options.logger.warn({ event: 'discovery_refresh_failed', ...fields }, `the upstream's discovery document ${what}: ${keeping}`);
  }

  private recovered(): void {
    if (this.lastProblem === undefined) return;
    this.lastProblem = undefined;
    this.options.logger.info({ event: 'discovery_refresh_recovered' }, "the upstream's discovery document is valid again");
  }
}

/** The top-level fields that differ between two documents (all of the new one's, when there was none). Pure. */
export function changedFields(before: DocumentTemplate | undefined, after: DocumentTemplate): string[] {
  if (before === undefined) return Object.keys(after);
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}
