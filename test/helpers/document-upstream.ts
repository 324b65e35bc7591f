import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DISCOVERY_PATH } from '../../src/protocol/paths';
import { answerProbe } from './upstream';

/** The published example document of a Cryptid server named `serverName`, with a fingerprint of its own. */
export function upstreamDocument(serverName = 'origin.example.test', fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    protocol_version: '1.0',
    server_name: serverName,
    federation_enabled: true,
    supported_features: ['mls_messaging', 'websocket_streaming', 'offline_queuing'],
    rate_limits: { federated_messages_per_minute: 1000, announcements_per_hour: 24 },
    message_limits: { max_message_size: 10485760, max_retention_days: 30 },
    certificate_fingerprint: `sha256:${'f'.repeat(64)}`,
    ...fields,
  };
}

/**
 * A real upstream on 127.0.0.1 that publishes its own discovery document, which the test
 * changes at will (`status` and `body`, a string sent as is), and answers the gateway's
 * probes. It can go down (port closed: refused) and come back on the same port.
 * Every other path answers 200 `{"ok":true}`.
 */
export class DocumentUpstream {
  status = 200;
  body: string = JSON.stringify(upstreamDocument());
  /** Discovery requests answered so far. */
  fetches = 0;
  /** While true, discovery requests are held unanswered (until `close`). */
  hang = false;
  private server: Server | undefined;
  private readonly held: ServerResponse[] = [];

  /** @param port where to listen; 0 picks a free port on the first start */
  constructor(private port = 0) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Publishes `document` (serialised as JSON) with status 200. */
  publish(document: unknown): void {
    this.status = 200;
    this.body = JSON.stringify(document);
  }

  /** Listens (again) on its port. */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      if (answerProbe(req, res)) return;
      req.resume();
      if (req.url === DISCOVERY_PATH) {
        if (this.hang) return void this.held.push(res);
        this.fetches += 1;
        res.writeHead(this.status, { 'content-type': 'application/json' }).end(this.body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
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
    for (const res of this.held.splice(0)) res.destroy();
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  }

  close(): Promise<void> {
    return this.kill();
  }
}
