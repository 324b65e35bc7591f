import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { waitFor, WAIT_MS } from './deadline';

/** How the upstream answers its health probe. */
export type ProbeMode = 'healthy' | 'degraded' | 'error500' | 'html' | 'unknown' | 'hang';

/**
 * A real upstream whose behaviour the test switches: the probe answer, being down (its
 * port closed, so connections are refused) and up again on the same port. Counts probe
 * hits and other requests separately; `/v1/slow` waits until the test releases it;
 * WebSocket upgrades are echoed.
 */
export class SwitchableUpstream {
  mode: ProbeMode = 'healthy';
  probeHits = 0;
  readonly requests: string[] = [];
  private server: Server | undefined;
  private port = 0;
  private readonly held: ServerResponse[] = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private heldWaiters: (() => void)[] = [];

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => this.answer(req, res));
    server.on('upgrade', (req, socket, head) => this.wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (d, binary) => ws.send(d, { binary }))));
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Closes the port and every connection: the upstream is gone (refused). */
  async kill(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const ws of this.wss.clients) ws.terminate();
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  }

  /** Resolves once `n` requests to `/v1/slow` are being held; rejects after `ms`, saying how many are. */
  held_(n = 1, ms = WAIT_MS): Promise<void> {
    return waitFor(
      () => `${n} held /v1/slow requests (${this.held.length} held)`,
      (done) => {
        const check = (): void => {
          if (this.held.length >= n) done();
          else this.heldWaiters.push(check);
        };
        check();
        return () => {
          this.heldWaiters = this.heldWaiters.filter((w) => w !== check);
        };
      },
      ms,
    );
  }

  /** Answers every held `/v1/slow` request. */
  release(): void {
    for (const res of this.held.splice(0)) res.writeHead(200, { 'content-type': 'application/json' }).end('{"slow":"done"}');
  }

  async close(): Promise<void> {
    this.release();
    await this.kill();
    this.wss.close();
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (req.url === '/v1/health') {
      this.probeHits += 1;
      return this.probeAnswer(res);
    }
    this.requests.push(`${req.method} ${req.url}`);
    if (req.url === '/v1/slow') {
      this.held.push(res);
      for (const wake of this.heldWaiters.splice(0)) wake();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, url: req.url }));
  }

  private probeAnswer(res: ServerResponse): void {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    switch (this.mode) {
      case 'healthy':
        return json(200, { status: 'healthy', timestamp: 0, version: '1.0.0', uptime: 1 });
      case 'degraded':
        return json(200, { status: 'degraded', details: 'queue backlog high', timestamp: 0, version: '1.0.0', uptime: 1 });
      case 'unknown':
        return json(200, { status: 'unknown' });
      case 'error500':
        return json(500, { error: 'INTERNAL' });
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>ok</html>');
        return;
      case 'hang':
        return; // never answers
    }
  }
}
