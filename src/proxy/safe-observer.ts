import type { Logger } from '../logger';
import type { ProxyObserver } from './observer';

/**
 * Wraps an observer so that a throwing one (a metrics bug, say) is logged instead of
 * crashing the process from inside a socket event: the proxy must survive it.
 */
export function safeObserver(observer: ProxyObserver, logger: Logger): ProxyObserver {
  const guard =
    <A extends unknown[]>(name: keyof ProxyObserver, call: (...args: A) => void) =>
    (...args: A): void => {
      try {
        call(...args);
      } catch (err) {
        logger.error({ event: 'observer_error', call: name, err }, 'proxy observer threw');
      }
    };
  return {
    requestFinished: guard('requestFinished', (o) => observer.requestFinished(o)),
    tunnelOpened: guard('tunnelOpened', () => observer.tunnelOpened()),
    tunnelClosed: guard('tunnelClosed', () => observer.tunnelClosed()),
    upgradeFailed: guard('upgradeFailed', (r) => observer.upgradeFailed(r)),
  };
}
