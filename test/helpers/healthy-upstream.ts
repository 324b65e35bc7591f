import { createServer, type Server } from 'node:http';
import type { Gateway } from '../../src';
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

/** Resolves once the gateway reports `status` (at once if it already does). */
export function untilStatus(gateway: Gateway, status: 'healthy' | 'degraded' | 'unhealthy'): Promise<void> {
  if (gateway.health.status === status) return Promise.resolve();
  return new Promise((resolve) => {
    const onStatus = (change: { status: string }): void => {
      if (change.status !== status) return;
      gateway.off('status', onStatus);
      resolve();
    };
    gateway.on('status', onStatus);
  });
}
