import WebSocket from 'ws';
import { startExampleUpstream, type ExampleUpstream } from '../../src/example-upstream/example-upstream';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { untilStatus } from '../helpers/healthy-upstream';
import { testRequest } from '../helpers/http-request';
import { nextMessage, openWs, refusedHandshake } from '../helpers/ws-upstream';

interface Announced {
  access_token: string;
  delivery_address: string;
}

describe('the example upstream behind the gateway', () => {
  let upstream: ExampleUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startExampleUpstream();
    // The example server has a real /v1/health: probe it there, as a deployment would.
    gw = await startGateway(upstream.url, { health: { probe: { path: '/v1/health' } } });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  async function announce(): Promise<Announced> {
    const res = await testRequest(`${gw.url}/v1/announce`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    return res.json as Announced;
  }

  async function sendMessage(from: Announced, to: Announced, ciphertext: string): Promise<{ message_id: string; status: string }> {
    const res = await testRequest(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${from.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ recipient_address: to.delivery_address, ciphertext }),
    });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ status: 'queued', delivery_estimate: expect.any(String) });
    return res.json as { message_id: string; status: string };
  }

  it('judges the example upstream healthy from its own /v1/health', async () => {
    await untilStatus(gw.gateway, 'healthy');
    expect((await testRequest(`${gw.url}/v1/health`)).json).toMatchObject({ status: 'healthy' });
  });

  it('announces, sends and receives a message on the stream, all through the gateway', async () => {
    const alice = await announce();
    const bob = await announce();
    // Browsers and wscat cannot set headers on a WebSocket: the token rides in the query.
    const stream = await openWs(`${gw.url.replace('http:', 'ws:')}/v1/stream?access_token=${encodeURIComponent(bob.access_token)}`);
    try {
      const arriving = nextMessage(stream);
      const sent = await sendMessage(alice, bob, 'aGVsbG8gYm9i');
      const frame = await arriving;
      expect(frame.isBinary).toBe(false);
      expect(JSON.parse(frame.data.toString())).toMatchObject({
        type: 'message',
        message_id: sent.message_id,
        sender_address: alice.delivery_address,
        ciphertext: 'aGVsbG8gYm9i',
      });
    } finally {
      stream.close();
    }
  });

  it('delivers messages queued while the recipient was offline once its stream opens', async () => {
    const alice = await announce();
    const bob = await announce();
    const sent = await sendMessage(alice, bob, 'b2ZmbGluZQ==');
    // The backlog is sent as soon as the stream opens: listen from the very first frame.
    const stream = new WebSocket(`${gw.url.replace('http:', 'ws:')}/v1/stream`, { headers: { authorization: `Bearer ${bob.access_token}` } });
    try {
      const frame = await nextMessage(stream);
      expect(JSON.parse(frame.data.toString())).toMatchObject({ message_id: sent.message_id });
    } finally {
      stream.close();
    }
  });

  it('relays the 401 of a stream opened with an unknown token', async () => {
    const res = await refusedHandshake(`${gw.url.replace('http:', 'ws:')}/v1/stream`, { authorization: 'Bearer nope' });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'DEVICE_NOT_ANNOUNCED', code: 4002 });
  });

  it("passes the example server's own 404 answers through", async () => {
    const res = await testRequest(`${gw.url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: 'ENDPOINT_NOT_FOUND' });
  });
});
