import { createLogger } from '../../../src/logger';
import type { ProxyObserver } from '../../../src/proxy/observer';
import { safeObserver } from '../../../src/proxy/safe-observer';

describe('safeObserver', () => {
  it('passes every call through and keeps a throwing observer from throwing into the proxy', () => {
    const calls: string[] = [];
    const throwing: ProxyObserver = {
      requestFinished: () => {
        calls.push('requestFinished');
        throw new Error('metrics bug');
      },
      tunnelOpened: () => void calls.push('tunnelOpened'),
      tunnelClosed: () => void calls.push('tunnelClosed'),
      upgradeFailed: (reason) => void calls.push(`upgradeFailed:${reason}`),
    };
    const safe = safeObserver(throwing, createLogger('silent'));
    expect(() =>
      safe.requestFinished({ method: 'GET', path: '/', status: 200, upstreamLatencyMs: 1, durationMs: 2, failure: null, rejected: null, clientAborted: false }),
    ).not.toThrow();
    safe.tunnelOpened();
    safe.tunnelClosed();
    safe.upgradeFailed('refused');
    expect(calls).toEqual(['requestFinished', 'tunnelOpened', 'tunnelClosed', 'upgradeFailed:refused']);
  });
});
