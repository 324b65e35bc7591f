import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';

/** What a test request got back. */
export interface TestResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  readonly json: unknown;
  /** The certificate the server presented (https only). */
  readonly peerCertificateRaw: Buffer | undefined;
}

export interface TestRequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string | undefined;
  /** CA to trust for https (the test's own certificate). */
  ca?: string | Buffer;
  /** Server name for SNI and verification. */
  servername?: string;
  /** Fresh connection every time (no pooling), so each request shows a fresh handshake. */
  agent?: false;
}

/** One request with node's own client: real sockets, nothing mocked. */
export function testRequest(url: string, options: TestRequestOptions = {}): Promise<TestResponse> {
  const target = new URL(url);
  const isHttps = target.protocol === 'https:';
  const send = isHttps ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
        ...(isHttps && { ca: options.ca, servername: options.servername ?? 'localhost' }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        const socket = res.socket as TLSSocket;
        const raw = isHttps ? socket.getPeerCertificate().raw : undefined;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = body.length > 0 ? JSON.parse(body.toString()) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json, peerCertificateRaw: raw });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
