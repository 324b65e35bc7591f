import { request } from 'node:http';
import type WebSocket from 'ws';
import { Redis } from 'ioredis';
import type { RateLimitOptions } from '../../src/config/options';
import { withScript } from '../../src/rate-limit/redis-script';
import { RedisStore } from '../../src/rate-limit/redis-store';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { skipWithout } from '../helpers/executables';
import { testRequest, type TestResponse } from '../helpers/http-request';
import { watchLog, type WatchedLog } from '../helpers/log-events';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';
import { keysUnder, RedisCluster, RedisProcess } from '../helpers/redis';
import { startUpstream, type TestUpstream } from '../helpers/upstream';
import { openWs, refusedHandshake, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';

const describeRedis = skipWithout('redis-server') ? describe.skip : describe;

/** An hour's window: a test of a second or two almost never spans a window boundary, and says so when it does. */
const HOUR = 3_600_000;
const TIMEOUT_MS = 200;
/** What "no request waits longer than timeoutMs" is held to: the timeout, plus room for a loaded machine. */
const WAIT_BOUND_MS = TIMEOUT_MS + 1000;

const hourOf = (ms: number): number => Math.floor(ms / HOUR);

/** A request that must be answered within `ms` (a deadline, not a measurement). */
function answeredWithin(ms: number, url: string, init: Parameters<typeof testRequest>[1] = {}): Promise<TestResponse> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    testRequest(url, init),
    new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${url}: no answer within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

async function metric(gw: TestGateway, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return sampleValue(parsePrometheusText(await gw.gateway.registry.metrics()), name, labels);
}

describeRedis('rate limits shared through Redis', () => {
  let upstream: TestUpstream;
  const gateways: TestGateway[] = [];
  const redises: { stop(): Promise<void> }[] = [];

  /** A gateway on `redis`, resolved once its store is up (its log says so). */
  async function gatewayOn(redis: RateLimitOptions['redis'], rateLimits: Omit<RateLimitOptions, 'store' | 'redis'> = {}): Promise<{ gw: TestGateway; log: WatchedLog }> {
    const log = watchLog();
    const gw = await startGateway(upstream.url, {
      logger: log.logger,
      rateLimits: {
        store: 'redis',
        redis: { timeoutMs: TIMEOUT_MS, ...redis },
        rules: [{ name: 'sends', match: ['/v1/messages'], key: 'bearer', limit: 10, windowMs: HOUR }],
        ...rateLimits,
      },
    });
    gateways.push(gw);
    await log.until('rate_limit_store_up', 10_000);
    return { gw, log };
  }

  /** Sends `n` requests round-robin over the gateways with one token; the statuses. */
  async function roundRobin(gws: TestGateway[], n: number, token: string): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      statuses.push(
        (await answeredWithin(WAIT_BOUND_MS, `${gws[i % gws.length]!.url}/v1/messages`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${token}` } })).status,
      );
    }
    return statuses;
  }

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      req.resume();
      res.end('{"status":"queued"}');
    });
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((gw) => gw.close()));
    await Promise.all(redises.splice(0).map((r) => r.stop()));
  });
  afterAll(() => upstream.close());

  describe('one Redis server, with a password, named by URL', () => {
    let redis: RedisProcess;
    beforeEach(async () => {
      redis = await RedisProcess.start({ password: 'p@ss:word' });
      redises.push(redis);
    });

    it('admits the limit once between two gateways, not once each', async () => {
      const [a, b] = [await gatewayOn({ url: redis.url }), await gatewayOn({ url: redis.url })];
      const before = Date.now();
      const statuses = await roundRobin([a.gw, b.gw], 30, 'alice');
      const crossed = hourOf(before) !== hourOf(Date.now());
      const accepted = statuses.filter((s) => s === 200).length;
      expect(accepted).toBeGreaterThanOrEqual(10);
      expect(accepted).toBeLessThanOrEqual(crossed ? 11 : 10);
      expect(statuses.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
      expect(await metric(a.gw, 'cryptid_gateway_rate_limit_store_errors_total')).toBe(0);
      expect(await metric(a.gw, 'cryptid_gateway_rate_limit_store_up', { store: 'redis' })).toBe(1);
    });

    it('writes only hashed keys, both windows of a key in one hash tag, expiring after two windows', async () => {
      const { gw } = await gatewayOn({ url: redis.url, keyPrefix: 'gw-test:' });
      await roundRobin([gw], 2, 'secret-token-value');
      const keys = keysUnder(redis, 'gw-test:');
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(/^gw-test:\{sends:[0-9a-f]{32}\}:\d+$/);
      expect(keys.join()).not.toContain('secret-token-value');
      expect(redis.cli('get', keys[0]!).trim()).toBe('2');
      const ttl = Number(redis.cli('pttl', keys[0]!).trim());
      expect(ttl).toBeGreaterThan(HOUR);
      expect(ttl).toBeLessThanOrEqual(2 * HOUR);
    });

    it("takes a library user's own ioredis client, and leaves it open on close", async () => {
      const { Redis } = await import('ioredis');
      const client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
      try {
        const { gw } = await gatewayOn({ client });
        expect((await roundRobin([gw], 12, 'carol')).filter((s) => s === 200).length).toBeGreaterThanOrEqual(10);
        await gateways.splice(0).map((g) => g.close())[0];
        expect(await client.ping()).toBe('PONG');
      } finally {
        client.disconnect();
      }
    });

    it('with a wrong password, decides by onStoreError and says why once', async () => {
      const log = watchLog();
      const gw = await startGateway(upstream.url, {
        logger: log.logger,
        rateLimits: {
          store: 'redis',
          redis: { url: `redis://:wrong@127.0.0.1:${redis.port}`, timeoutMs: TIMEOUT_MS },
          onStoreError: 'deny',
          rules: [{ name: 'sends', match: ['/v1/'], key: 'ip', limit: 10, windowMs: HOUR }],
        },
      });
      gateways.push(gw);
      const down = await log.until('rate_limit_store_down', 10_000);
      expect(JSON.stringify(down)).not.toContain('wrong');
      const res = await answeredWithin(WAIT_BOUND_MS, `${gw.url}/v1/messages`);
      expect(res.status).toBe(503);
      expect(res.json).toMatchObject({ error: 'SERVER_UNAVAILABLE' });
      expect(await metric(gw, 'cryptid_gateway_rejected_requests_total', { reason: 'rate_limit_store_unavailable' })).toBe(1);
      expect(log.lines.filter((l) => l.event === 'rate_limit_store_down')).toHaveLength(1);
    });
  });

  describe('a three-node Redis Cluster', () => {
    let cluster: RedisCluster;
    beforeAll(async () => {
      cluster = await RedisCluster.start();
    }, 60_000);
    afterAll(() => cluster.stop());

    it('holds the same limits between two gateways, for keys in every slot range', async () => {
      const [a, b] = [await gatewayOn({ cluster: cluster.addresses }), await gatewayOn({ cluster: cluster.addresses })];
      const before = Date.now();
      const tokens = Array.from({ length: 6 }, (_, i) => `cluster-token-${i}`);
      const accepted = [];
      for (const token of tokens) accepted.push((await roundRobin([a.gw, b.gw], 14, token)).filter((s) => s === 200).length);
      const crossed = hourOf(before) !== hourOf(Date.now());
      for (const n of accepted) {
        expect(n).toBeGreaterThanOrEqual(10);
        expect(n).toBeLessThanOrEqual(crossed ? 11 : 10);
      }
      // The keys spread over the nodes, and each key's windows stay in their own slot.
      const keys = cluster.nodes.flatMap((node) => keysUnder(node, 'cryptid-gateway:'));
      expect(keys).toHaveLength(tokens.length);
      expect(cluster.nodes.filter((node) => keysUnder(node, 'cryptid-gateway:').length > 0).length).toBeGreaterThan(1);
      const node = cluster.nodes[0]!;
      for (const key of keys) {
        const base = key.slice(0, key.lastIndexOf(':'));
        expect(node.cli('cluster', 'keyslot', `${base}:1`).trim()).toBe(node.cli('cluster', 'keyslot', key).trim());
      }
    });
  });

  describe('faults', () => {
    let redis: RedisProcess;
    beforeEach(async () => {
      redis = await RedisProcess.start();
      redises.push(redis);
    });

    it('slow Redis (SIGSTOP): no request waits past the timeout, the fallback decides at limit ÷ replicas, and Redis decides again once it answers', async () => {
      const { gw, log } = await gatewayOn({ url: redis.url }, { replicas: 2 });
      const before = Date.now();
      expect(await roundRobin([gw], 3, 'dave')).toEqual([200, 200, 200]);
      redis.pause();
      const from = log.lines.length;
      // Every one answered within the bound: the first after the timeout, the rest at once (the store is down).
      const during = await roundRobin([gw], 8, 'erin');
      expect(during).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
      expect(await log.until('rate_limit_store_down', 1000, from)).toMatchObject({ reason: 'timeout', onStoreError: 'allow' });
      expect(await metric(gw, 'cryptid_gateway_rate_limit_store_errors_total')).toBe(8);
      expect(await metric(gw, 'cryptid_gateway_rate_limit_store_up', { store: 'redis' })).toBe(0);
      redis.resume();
      await log.until('rate_limit_store_up', 10_000, from);
      // Counted in Redis again: dave had 3 there, so 7 more (8 if the hour turned meanwhile:
      // his 3 then count a little less than 3 in the new window's estimate).
      const admitted = (await roundRobin([gw], 9, 'dave')).filter((s) => s === 200).length;
      expect(admitted).toBe(hourOf(before) !== hourOf(Date.now()) ? 8 : 7);
    });

    it('gone Redis (killed): answered at once by the fallback; restarted: enforced in Redis again', async () => {
      const [a, b] = [await gatewayOn({ url: redis.url }, { replicas: 2 }), await gatewayOn({ url: redis.url }, { replicas: 2 })];
      await redis.kill();
      const from = [a.log.lines.length, b.log.lines.length];
      // Two replicas, each deciding alone at 10 ÷ 2: together they stay at the limit.
      const during = await roundRobin([a.gw, b.gw], 14, 'frank');
      expect(during.filter((s) => s === 200)).toHaveLength(10);
      await a.log.until('rate_limit_store_down', 2000, from[0]);
      await redis.restart();
      await a.log.until('rate_limit_store_up', 10_000, from[0]);
      await b.log.until('rate_limit_store_up', 10_000, from[1]);
      // A fresh Redis: the limit is shared again (not 5 per replica) and counted there.
      const after = await roundRobin([a.gw, b.gw], 14, 'grace');
      expect(after.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10);
      expect(after.filter((s) => s === 200).length).toBeLessThanOrEqual(11);
      expect(keysUnder(redis, 'cryptid-gateway:')).toHaveLength(1);
      for (const { log } of [a, b]) expect(log.lines.filter((l) => l.event === 'rate_limit_store_down')).toHaveLength(1);
    });

    it('gone Redis with onStoreError: deny: 503 SERVER_UNAVAILABLE on limited routes only', async () => {
      const { gw, log } = await gatewayOn({ url: redis.url }, { onStoreError: 'deny' });
      await redis.kill();
      const limited = await answeredWithin(WAIT_BOUND_MS, `${gw.url}/v1/messages`, { method: 'POST', body: '{}' });
      expect(limited.status).toBe(503);
      expect(limited.json).toMatchObject({ error: 'SERVER_UNAVAILABLE', retry_after: 5 });
      expect(limited.headers['retry-after']).toBe('5');
      expect((await answeredWithin(WAIT_BOUND_MS, `${gw.url}/v1/other`)).status).toBe(200);
      await log.until('rate_limit_store_down', 2000);
    });

    it('a client that leaves while Redis is slow is not forwarded', async () => {
      const { gw, log } = await gatewayOn({ url: redis.url });
      const before = upstream.requests.length;
      const from = log.lines.length;
      redis.pause();
      // Sent, then abandoned as soon as the gateway has it: its check is waiting for Redis.
      await new Promise<void>((resolve) => {
        const req = request(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-length': '2' } });
        req.on('error', () => resolve());
        gw.server.once('request', () => {
          req.destroy();
          resolve();
        });
        req.end('{}');
      });
      // The check times out and the fallback admits it, but there is nobody left to forward for.
      await log.until('rate_limit_store_down', 2000, from);
      redis.resume();
      await log.until('rate_limit_store_up', 10_000, from);
      expect(upstream.requests.length).toBe(before);
      expect(await metric(gw, 'cryptid_gateway_http_requests_total', { method: 'POST', route: '/v1/messages', status_code: 'other' })).toBe(1);
    });
  });
});

describeRedis('the Redis store', () => {
  let redis: RedisProcess;
  let client: Redis;
  beforeAll(async () => {
    redis = await RedisProcess.start();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  /** Script calls Redis has run so far (EVALSHA, and EVAL for the first one after a NOSCRIPT). */
  const scriptCalls = (): number => [...redis.cli('info', 'commandstats').matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);

  it('sends the checks of one event-loop turn as one script call, each decided in order', async () => {
    const store = new RedisStore(withScript(client), 'batch:', 1000, false);
    await store.hit('warm', 'ip:0', 1, HOUR);
    const before = scriptCalls();
    const decisions = await Promise.all([
      ...Array.from({ length: 50 }, () => store.hit('r', 'ip:192.0.2.1', 10, HOUR)),
      ...Array.from({ length: 5 }, () => store.hit('r', 'ip:192.0.2.2', 10, HOUR)),
    ]);
    expect(scriptCalls() - before).toBe(1);
    expect(decisions.slice(0, 50).filter((d) => d.allowed)).toHaveLength(10);
    expect(decisions.slice(0, 10).map((d) => d.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(decisions.slice(50).every((d) => d.allowed)).toBe(true);
  });

  it('rejects every check of a call that Redis does not answer in time', async () => {
    const store = new RedisStore(withScript(client), 'batch:', 150, false);
    await store.hit('warm', 'ip:0', 1, HOUR);
    redis.pause();
    try {
      const outcomes = await Promise.allSettled([store.hit('r', 'ip:a', 10, HOUR), store.hit('r', 'ip:b', 10, HOUR)]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
      expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ name: 'ProbeTimeout' });
    } finally {
      redis.resume();
    }
  });
});

describeRedis('rate limits on WebSocket upgrades through Redis', () => {
  let upstream: WsUpstream;
  let redis: RedisProcess;
  let gw: TestGateway;
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    upstream = await startWsUpstream();
    redis = await RedisProcess.start();
    const log = watchLog();
    gw = await startGateway(upstream.url, {
      logger: log.logger,
      rateLimits: { store: 'redis', redis: { url: redis.url }, rules: [{ name: 'streams', match: ['/v1/stream'], key: 'bearer', limit: 1, windowMs: HOUR }] },
    });
    await log.until('rate_limit_store_up', 10_000);
  });
  afterAll(async () => {
    for (const ws of clients) ws.terminate();
    await gw.close();
    await redis.stop();
    await upstream.close();
  });

  it('tunnels the upgrades within the limit and refuses the next with 429 on the socket', async () => {
    const url = `${gw.url.replace('http:', 'ws:')}/v1/stream`;
    const headers = { authorization: 'Bearer good' };
    const ws = await openWs(url, { headers });
    clients.push(ws);
    // The tunnel works: what the client sends early is not lost while the check runs.
    const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send('hello');
    expect(await echoed).toBe('hello');
    const refused = await refusedHandshake(url, headers);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'RATE_LIMIT_EXCEEDED', code: 4004 });
    expect(upstream.connections).toHaveLength(1);
  });
});
