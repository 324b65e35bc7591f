import { once } from 'node:events';
import { request } from 'node:https';
import WebSocket from 'ws';

/** What the tour printed, for the demo's own output and for tests. */
export interface TourResult {
  readonly received: string;
}

/**
 * Sends one message through the gateway and receives it on the WebSocket stream, the way
 * a Cryptid client would: announce two devices, Bob opens `/v1/stream`, Alice posts to
 * `/v1/messages`. It proves the whole path (TLS, HTTP forwarding, the tunnel) works.
 * The demo's certificate is self-signed, so it trusts exactly that certificate.
 */
export async function demoTour(base: string, ca: string | Buffer, timeoutMs = 5000): Promise<TourResult> {
  const signal = AbortSignal.timeout(timeoutMs);
  const bob = (await call(base, ca, 'POST', '/v1/announce', undefined, undefined, signal)) as Device;
  const alice = (await call(base, ca, 'POST', '/v1/announce', undefined, undefined, signal)) as Device;
  const ws = new WebSocket(`${base.replace(/^https/, 'wss')}/v1/stream`, {
    headers: { authorization: `Bearer ${bob.access_token}` },
    ca,
  });
  try {
    await once(ws, 'open', { signal });
    const message = once(ws, 'message', { signal });
    await call(base, ca, 'POST', '/v1/messages', alice.access_token, { recipient_address: bob.delivery_address, ciphertext: 'aGVsbG8gQm9i' }, signal);
    const [data] = (await message) as [Buffer];
    return { received: data.toString() };
  } finally {
    ws.close();
  }
}

interface Device {
  access_token: string;
  delivery_address: string;
}

function call(base: string, ca: string | Buffer, method: string, path: string, token: string | undefined, body: unknown, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method,
        ca,
        servername: 'localhost',
        signal,
        headers: { ...(token && { authorization: `Bearer ${token}` }), ...(payload && { 'content-type': 'application/json' }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 500) >= 300) return reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
          resolve(JSON.parse(text) as unknown);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
