import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { resolveConfig } from '../../../src/config/resolve';
import type { ResolvedRateLimits } from '../../../src/config/options';
import { createLogger } from '../../../src/logger';
import { RateLimiter, type Verdict } from '../../../src/rate-limit/limiter';
import type { RateLimitObserver } from '../../../src/rate-limit/observer';
import { freePort } from '../../helpers/redis';

const FP = `sha256:${'a'.repeat(64)}`;

function settings(rateLimits: unknown, rate_limits?: Record<string, number>): ResolvedRateLimits {
  const document = { server_name: 'chat.example.com', certificate_fingerprint: FP, ...(rate_limits && { rate_limits }) };
  return resolveConfig({ upstream: 'http://127.0.0.1:8008', discovery: { document }, rateLimits }, 'library').config.rateLimits;
}

/** Records what the limiter reports. */
class Recorder implements RateLimitObserver {
  rules: string[] = [];
  limitedBy: string[] = [];
  storeErrors = 0;
  states: boolean[] = [];
  rulesChanged(names: readonly string[]): void {
    this.rules = [...names];
  }
  limited(rule: string): void {
    this.limitedBy.push(rule);
  }
  storeError(): void {
    this.storeErrors++;
  }
  storeState(up: boolean): void {
    this.states.push(up);
  }
  answered(): void {}
}

/** A request object for the checks (keys by address come from the `addressOf` seam). */
const request = (): IncomingMessage => new IncomingMessage(new Socket());
const silent = createLogger('silent');

function kinds(limiter: RateLimiter, method: string, path: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const verdict = limiter.check(request(), limiter.match(method, path), false) as Verdict;
    out.push(verdict.kind);
  }
  return out;
}

describe('the rate limiter', () => {
  it('follows a new document when its rules come from the document, keeping the counts by rule name', () => {
    const observer = new Recorder();
    const limiter = new RateLimiter(settings(undefined, { federated_messages_per_minute: 2, announcements_per_hour: 1 }), {
      logger: silent,
      observer,
      addressOf: () => '192.0.2.1',
      now: () => 60_000,
    });
    expect(observer.rules).toEqual(['federation', 'announce']);
    expect(kinds(limiter, 'PUT', '/federation/v1/deliver/1', 3)).toEqual(['allowed', 'allowed', 'limited']);
    limiter.applyDocument({ rate_limits: { federated_messages_per_minute: 4, announcements_per_hour: 1 } });
    expect(limiter.activeRules.map((r) => [r.name, r.limit])).toEqual([
      ['federation', 4],
      ['announce', 10],
    ]);
    expect(kinds(limiter, 'PUT', '/federation/v1/deliver/1', 3)).toEqual(['allowed', 'allowed', 'limited']);
    expect(observer.states).toEqual([true]);
  });

  it('keeps configured rules when the document changes', () => {
    const limiter = new RateLimiter(settings({ rules: [{ name: 'all', match: ['/'], key: 'ip', limit: 1, windowMs: 1000 }] }), { logger: silent });
    limiter.applyDocument({ rate_limits: { federated_messages_per_minute: 4, announcements_per_hour: 1 } });
    expect(limiter.activeRules.map((r) => r.name)).toEqual(['all']);
  });

  it('decides with its own limiter, at limit ÷ replicas, while Redis cannot be reached (onStoreError: allow)', async () => {
    const port = await freePort(); // nothing listens there: connections are refused
    const observer = new Recorder();
    const limiter = new RateLimiter(
      settings({ store: 'redis', redis: { url: `redis://127.0.0.1:${port}` }, replicas: 3, rules: [{ name: 'r', match: ['/v1/'], key: 'ip', limit: 10, windowMs: 60_000 }] }),
      { logger: silent, observer, addressOf: () => '192.0.2.1', now: () => 0 },
    );
    try {
      expect(kinds(limiter, 'GET', '/v1/x', 4)).toEqual(['allowed', 'allowed', 'allowed', 'limited']);
      expect(observer.storeErrors).toBe(4);
      expect(observer.states).toEqual([false]);
    } finally {
      await limiter.close();
    }
  });

  it('answers unavailable while Redis cannot be reached with onStoreError: deny', async () => {
    const port = await freePort();
    const observer = new Recorder();
    const limiter = new RateLimiter(
      settings({
        store: 'redis',
        redis: { url: `redis://127.0.0.1:${port}` },
        onStoreError: 'deny',
        rules: [{ name: 'r', match: ['/v1/'], key: 'ip', limit: 10, windowMs: 60_000 }],
      }),
      { logger: silent, observer, addressOf: () => '192.0.2.1' },
    );
    try {
      expect(kinds(limiter, 'GET', '/v1/x', 2)).toEqual(['unavailable', 'unavailable']);
      // Requests on no limited route never touch the store.
      expect(limiter.match('GET', '/other')).toHaveLength(0);
      expect(observer.storeErrors).toBe(2);
    } finally {
      await limiter.close();
    }
  });

  it('refuses a request when any matched rule does, with the longest wait among them', () => {
    const limiter = new RateLimiter(
      settings({
        rules: [
          { name: 'short', match: ['/v1/'], key: 'ip', limit: 1, windowMs: 1000 },
          { name: 'long', match: ['/v1/messages'], key: 'ip', limit: 1, windowMs: 60_000 },
        ],
      }),
      { logger: silent, addressOf: () => '192.0.2.1', now: () => 0 },
    );
    limiter.check(request(), limiter.match('POST', '/v1/messages'), false);
    const verdict = limiter.check(request(), limiter.match('POST', '/v1/messages'), false) as Verdict;
    expect(verdict.kind).toBe('limited');
    expect(verdict.kind === 'limited' && verdict.retryAfter).toBe(61);
    expect(verdict.kind === 'limited' && verdict.decisions.map((d) => [d.rule.name, d.decision.allowed])).toEqual([
      ['short', false],
      ['long', false],
    ]);
  });
});
