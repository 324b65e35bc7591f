import type { IncomingMessage } from 'node:http';
import type { ResolvedRateLimits } from '../config/options';
import { documentRateLimitRules } from '../config/rate-limit-rules';
import type { Logger } from '../logger';
import type { RateLimits } from '../protocol/document';
import { clientKey, socketAddress, type AddressOf } from './client-key';
import type { RuleDecision } from './headers';
import { MemoryStore } from './memory-store';
import { NOOP_RATE_LIMIT_OBSERVER, type RateLimitObserver } from './observer';
import { compileRules, matchRules, type CompiledRule } from './rules';
import { SharedStore } from './shared-store';
import type { Decision } from './sliding-window';

/** What the limiter decided for one request. */
export type Verdict =
  /** Every matched rule admitted it (and counted it). */
  | { readonly kind: 'allowed'; readonly decisions: readonly RuleDecision[] }
  /** At least one rule refused it; `retryAfter` is the longest wait among those that did. */
  | { readonly kind: 'limited'; readonly decisions: readonly RuleDecision[]; readonly retryAfter: number }
  /** The shared store did not answer and `onStoreError` is `deny`. */
  | { readonly kind: 'unavailable' };

/** The seams of the limiter. */
export interface RateLimiterHooks {
  readonly logger: Logger;
  /** @default a no-op */
  readonly observer?: RateLimitObserver | undefined;
  /** Where a request comes from, for `key: ip`. @default the socket's peer */
  readonly addressOf?: AddressOf | undefined;
  /** The memory store's clock (tests inject one; Redis uses its own). @default Date.now */
  readonly now?: (() => number) | undefined;
}

const UNAVAILABLE: Verdict = Object.freeze({ kind: 'unavailable' });

/**
 * The rate limiter: which rules a request matches, and whether they admit it. With the
 * memory store the answer is immediate; with Redis it is a promise that settles within
 * `redis.timeoutMs`, deciding by `onStoreError` when Redis does not answer in time.
 */
export class RateLimiter {
  private rules: CompiledRule[];
  private readonly memory: MemoryStore | undefined;
  private readonly shared: SharedStore | undefined;
  /** This process's own limiter, when the shared store cannot answer and `onStoreError` is `allow`. */
  private readonly fallback: MemoryStore | undefined;
  private readonly observer: RateLimitObserver;
  private readonly addressOf: AddressOf;

  constructor(
    private settings: ResolvedRateLimits,
    hooks: RateLimiterHooks,
  ) {
    this.observer = hooks.observer ?? NOOP_RATE_LIMIT_OBSERVER;
    this.addressOf = hooks.addressOf ?? socketAddress;
    this.rules = compileRules(settings.rules, settings.replicas);
    this.observer.rulesChanged(this.rules.map((r) => r.name));
    if (settings.store === 'memory') {
      this.memory = new MemoryStore(settings.maxKeys, hooks.now);
      this.observer.storeState(true);
    } else {
      this.shared = new SharedStore(settings, hooks.logger, this.observer);
      this.observer.storeState(false);
      if (settings.onStoreError === 'allow') this.fallback = new MemoryStore(settings.maxKeys, hooks.now);
    }
  }

  /** The rules in force. */
  get activeRules(): readonly CompiledRule[] {
    return this.rules;
  }

  /**
   * New rules and replica count (live reload). The store, its connection and the counts it
   * holds carry over (counts are kept by rule name, so a rule whose limit changed goes on
   * from where it was); what the store is and how it is reached (`store`, `redis`,
   * `onStoreError`, `maxKeys`) is fixed at construction. Call `applyDocument` after it when
   * the rules follow the document.
   */
  reconfigure(settings: ResolvedRateLimits): void {
    this.settings = settings;
    this.rules = compileRules(settings.rules, settings.replicas);
    this.observer.rulesChanged(this.rules.map((r) => r.name));
  }

  /**
   * Follows a change of the published document: rules derived from its `rate_limits` are
   * derived again, so that what is advertised and what is enforced never disagree.
   * Configured rules stay as they are. Counts carry over (they are kept by rule name).
   */
  applyDocument(document: { readonly rate_limits: RateLimits }): void {
    if (!this.settings.rulesFromDocument) return;
    this.rules = compileRules(documentRateLimitRules(document.rate_limits), this.settings.replicas);
    this.observer.rulesChanged(this.rules.map((r) => r.name));
  }

  /** The rules `method path` matches (the same empty array for none). */
  match(method: string, path: string): readonly CompiledRule[] {
    return matchRules(this.rules, method, path);
  }

  /** Checks a request against the rules it matched, counting it where admitted. */
  check(req: IncomingMessage, rules: readonly CompiledRule[], upgrade: boolean): Verdict | Promise<Verdict> {
    const keys = rules.map((rule) => clientKey(rule.key, req, upgrade, this.addressOf));
    if (this.memory !== undefined) return this.decideLocally(this.memory, rules, keys, false);
    const shared = this.shared as SharedStore;
    if (!shared.up) return this.storeFailed(rules, keys);
    return shared.check(rules, keys).then((decisions) => (decisions === undefined ? this.storeFailed(rules, keys) : verdictOf(rules, decisions)));
  }

  /** Closes the shared store's connection, if the gateway made it. */
  async close(): Promise<void> {
    await this.shared?.close();
  }

  /** The shared store could not answer: the fallback decides, or the request is refused. */
  private storeFailed(rules: readonly CompiledRule[], keys: readonly string[]): Verdict {
    this.observer.storeError();
    if (this.fallback === undefined) return UNAVAILABLE;
    return this.decideLocally(this.fallback, rules, keys, true);
  }

  private decideLocally(store: MemoryStore, rules: readonly CompiledRule[], keys: readonly string[], asFallback: boolean): Verdict {
    const decisions: Decision[] = [];
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule;
      decisions.push(store.hit(`${rule.name}\n${keys[i] as string}`, asFallback ? rule.fallbackLimit : rule.limit, rule.windowMs));
    }
    return verdictOf(rules, decisions);
  }
}

/** The verdict of the rules' decisions: refused if any rule refused. */
function verdictOf(rules: readonly CompiledRule[], decisions: readonly Decision[]): Verdict {
  const paired: RuleDecision[] = [];
  let retryAfter = 0;
  for (let i = 0; i < rules.length; i++) {
    const decision = decisions[i] as Decision;
    paired.push({ rule: rules[i] as CompiledRule, decision });
    if (!decision.allowed) retryAfter = Math.max(retryAfter, decision.resetSeconds);
  }
  return retryAfter === 0 ? { kind: 'allowed', decisions: paired } : { kind: 'limited', decisions: paired, retryAfter };
}
