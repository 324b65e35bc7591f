import { once } from 'node:events';
import type { Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/options';
import type { GatewayCore } from '../gateway';

/**
 * SPEC §8: shutting-down at once (health and discovery answer 503 so load balancers
 * drop the endpoint), keep serving for `drainDelayMs` (Kubernetes removes the endpoint
 * concurrently with the signal), then refuse new connections, let in-flight requests
 * finish for up to `timeoutMs`, and close what is left, tunnels included.
 */
export async function gracefulShutdown(
  server: Server,
  core: GatewayCore,
  settings: ResolvedConfig['shutdown'],
  logger: Logger,
): Promise<void> {
  core.beginShutdown();
  if (settings.drainDelayMs > 0) await delay(settings.drainDelayMs);

  const closed = once(server, 'close');
  server.close();
  server.closeIdleConnections();
  // Tunnels hold their sockets open indefinitely: end them now (1001), in parallel with in-flight requests.
  const tunnels = core.proxy.closeTunnels();
  // Keep-alive connections become idle as their last response ends; close them as they do.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
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
    clearInterval(sweep);
  }
  await tunnels;
  await core.close();
  logger.info({ event: 'stopped' }, 'cryptid-gateway stopped');
}
