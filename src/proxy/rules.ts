import type { Logger } from '../logger';
import type { ProxyObserver } from './observer';
import type { PathFilter } from './path-filter';
import type { TrustedProxies } from './trusted-proxies';

/** What HTTP forwarding and WebSocket tunnelling both need; built once by the gateway. */
export interface ProxyRules {
  readonly observer: ProxyObserver;
  readonly logger: Logger;
  /** `proxy.timeoutMs`: no response headers (or handshake answer, or upload progress) for this long → 504. */
  readonly timeoutMs: number;
  /** `proxy.failFast`. */
  readonly failFast: boolean;
  /** `discovery.document.federation_enabled`. */
  readonly federationEnabled: boolean;
  /** The fail-fast seam: true while the upstream is judged `unhealthy`. */
  readonly upstreamUnhealthy: () => boolean;
  /** `proxy.trustedProxies`: whose forwarded headers and request id are kept. */
  readonly trustedProxies: TrustedProxies;
  /** `proxy.paths`: what is forwarded at all. */
  readonly paths: PathFilter;
  /** True once the gateway is closed: requests get 503 without touching the upstream. */
  readonly closed: () => boolean;
}
