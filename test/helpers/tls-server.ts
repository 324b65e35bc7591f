import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestCert } from './certs';

/** A real HTTPS server on 127.0.0.1, port 0, for one test. */
export interface TestTlsServer {
  readonly server: Server;
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Requests received, by path. */
  readonly hits: Map<string, number>;
  /** Requests received for `path` so far. */
  count(path: string): number;
  /** Serves another certificate from now on (a rotation, or an impostor). */
  useCert(cert: TestCert): void;
  /** Ends every connection and closes the listener. */
  close(): Promise<void>;
}

/** Starts an HTTPS server with `cert` answering with `handler`. */
export async function startTlsServer(cert: TestCert, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestTlsServer> {
  const hits = new Map<string, number>();
  const server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `https://127.0.0.1:${port}`,
    port,
    hits,
    count: (path) => hits.get(path) ?? 0,
    useCert: (next) => server.setSecureContext({ cert: next.cert, key: next.key }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
