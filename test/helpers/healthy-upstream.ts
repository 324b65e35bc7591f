import { createServer, type Server } from 'node:http';
import type { Gateway } from '../../src';
import { waitFor, WAIT_MS } from './deadline';
import { closeServer, listenLocal } from './listen';

/** A minimal upstream whose `/v1/health` says healthy; everything else is a 200 JSON echo of the method. */
export interface HealthyUpstream {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startHealthyUpstream(): Promise<HealthyUpstream> {
  const server = createServer((req, res) => {
    const body = req.url === '/v1/health' ? '{"status":"healthy","timestamp":0,"version":"1.0.0","uptime":1}' : JSON.stringify({ method: req.method });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  const port = await listenLocal(server);
  return { url: `http://127.0.0.1:${port}`, server, close: () => closeServer(server) };
}

/** Resolves once the gateway reports `status` (at once if it already does); rejects after `ms`, saying where it stayed. */
export function untilStatus(gateway: Gateway, status: 'healthy' | 'degraded' | 'unhealthy', ms = WAIT_MS): Promise<void> {
  return waitFor(
    () => `gateway ${status} (it is ${gateway.health.status}: ${gateway.health.reason})`,
    (done) => {
      if (gateway.health.status === status) return done();
      const onStatus = (change: { status: string }): void => {
        if (change.status === status) done();
      };
      gateway.on('status', onStatus);
      return () => gateway.off('status', onStatus);
    },
    ms,
  );
}
