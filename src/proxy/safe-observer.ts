import type { Logger } from '../logger';
import type { ProxyObserver, RequestOutcome, UpgradeFailure } from './observer';

/**
 * Wraps an observer so that a throwing one (a metrics bug, say) is logged instead of
 * crashing the process from inside a socket event: the proxy must survive it. One method per
 * call, no rest-argument wrappers: `requestFinished` runs for every proxied request.
 */
export function safeObserver(observer: ProxyObserver, logger: Logger): ProxyObserver {
  return new SafeObserver(observer, logger);
}

class SafeObserver implements ProxyObserver {
  constructor(
    private readonly observer: ProxyObserver,
    private readonly logger: Logger,
  ) {}

  requestFinished(outcome: RequestOutcome): void {
    try {
      this.observer.requestFinished(outcome);
    } catch (err) {
      this.threw('requestFinished', err);
    }
  }

  tunnelOpened(): void {
    try {
      this.observer.tunnelOpened();
    } catch (err) {
      this.threw('tunnelOpened', err);
    }
  }

  tunnelClosed(): void {
    try {
      this.observer.tunnelClosed();
    } catch (err) {
      this.threw('tunnelClosed', err);
    }
  }

  upgradeFailed(reason: UpgradeFailure): void {
    try {
      this.observer.upgradeFailed(reason);
    } catch (err) {
      this.threw('upgradeFailed', err);
    }
  }

  private threw(call: keyof ProxyObserver, err: unknown): void {
    this.logger.error({ event: 'observer_error', call, err }, 'proxy observer threw');
  }
}
