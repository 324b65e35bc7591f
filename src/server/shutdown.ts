import { once } from 'node:events';
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../logger';
import type { ResolvedConfig } from '../config/options';
import type { GatewayCore } from '../gateway';

/**
 * Shutting-down at once (health and discovery answer 503 so load balancers
 * drop the endpoint), keep serving for `drainDelayMs` (Kubernetes removes the endpoint
 * concurrently with the signal), then refuse new connections, let in-flight requests
 * finish for up to `timeoutMs`, and close what is left, tunnels included.
 */
export async function gracefulShutdown(server: Server, core: GatewayCore, settings: ResolvedConfig['shutdown'], logger: Logger): Promise<void> {
  core.beginShutdown();
  if (settings.drainDelayMs > 0) await delay(settings.drainDelayMs);

  const closed = once(server, 'close');
  // Stop accepting without http.Server's own closeIdleConnections(): "idle" there includes a
  // connection accepted a moment ago whose first request is still on its way, and cutting it
  // fails a request the gateway had accepted. Idle keep-alive connections end by themselves:
  // a request on one is answered with Connection: close, an unused one at keepAliveTimeout.
  NetServer.prototype.close.call(server);
  // Tunnels hold their sockets open indefinitely: end them now (1001), in parallel with in-flight requests.
  const tunnels = core.proxy.closeTunnels();
  // No periodic sweep of idle connections: once shutdown has begun every answer carries
  // Connection: close, so busy connections end with their response, while a sweep would also
  // cut connections accepted just before the listener closed whose first request is still
  // on its way. Node's keepAliveTimeout ends any connection left idle from before.
  const deadline = new AbortController();
  try {
    await Promise.race([
      closed,
      delay(settings.timeoutMs, undefined, { signal: deadline.signal }).then(
        () => {
          logger.warn({ event: 'shutdown_timeout', timeoutMs: settings.timeoutMs }, 'in-flight requests did not finish in time; closing them');
          server.closeAllConnections();
        },
        () => undefined, // aborted: everything closed in time
      ),
    ]);
  } finally {
    deadline.abort();
  }
  await tunnels;
  await core.close();
  logger.info({ event: 'stopped' }, 'cryptid-gateway stopped');
}
