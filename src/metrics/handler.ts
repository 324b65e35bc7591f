import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry, RegistryContentType } from 'prom-client';
import { writeError } from '../http/json-error';

/** A `node:http` request handler; Express accepts it as a route handler as it is. */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void;

const ALLOW = { allow: 'GET, HEAD' } as const;

/**
 * Serves a registry's content in its own exposition format (`registry.contentType`,
 * the Prometheus text format unless the registry was made for OpenMetrics), whatever the
 * path: the caller mounts it where it wants (`app.get('/metrics', gateway.metricsHandler)`).
 * GET and HEAD; any other method is 405. A failing collector answers 500 without
 * leaking its error: the scrape then shows up as failed (`up == 0`) in Prometheus.
 */
export function createMetricsHandler(registry: Registry<RegistryContentType>): MetricsHandler {
  return (req, res) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      writeError(res, 'methodNotAllowed', ALLOW);
      return;
    }
    registry.metrics().then(
      (text) => {
        if (res.destroyed) return;
        const body = Buffer.from(text, 'utf8');
        res.writeHead(200, {
          'content-type': registry.contentType,
          'content-length': body.length,
          'cache-control': 'no-store',
        });
        res.end(method === 'HEAD' ? undefined : body);
      },
      () => {
        if (!res.destroyed) writeError(res, 'internal', undefined, method === 'HEAD');
      },
    );
  };
}
