import { FAILURES, type FailureKind } from '../../../src/http/error-status';
import { createServer } from 'node:http';
import { errorBody, writeError, writeSocketError } from '../../../src/http/json-error';
import { closeServer, listenLocal } from '../../helpers/listen';
import { testRequest } from '../../helpers/http-request';

describe('failure table', () => {
  it.each([
    ['discoveryDisabled', 404, 'ENDPOINT_NOT_FOUND', undefined, undefined],
    ['unavailable', 503, 'SERVER_UNAVAILABLE', undefined, 5],
    ['methodNotAllowed', 405, 'METHOD_NOT_ALLOWED', undefined, undefined],
    ['upstreamUnavailable', 502, 'UPSTREAM_UNAVAILABLE', undefined, 5],
    ['upstreamTimeout', 504, 'UPSTREAM_TIMEOUT', undefined, 5],
    ['failFast', 503, 'SERVER_UNAVAILABLE', undefined, 5],
    ['tooLarge', 413, 'MESSAGE_TOO_LARGE', 4003, undefined],
    ['federationDisabled', 403, 'FEDERATION_DISABLED', undefined, undefined],
    ['bodyAlreadyRead', 500, 'BODY_ALREADY_READ', undefined, undefined],
    ['upgradeNotForwarded', 400, 'UNSUPPORTED_UPGRADE', undefined, undefined],
    ['badTarget', 400, 'BAD_REQUEST', undefined, undefined],
    ['badHost', 400, 'BAD_REQUEST', undefined, undefined],
    ['notImplemented', 501, 'NOT_IMPLEMENTED', undefined, undefined],
    ['rateLimited', 429, 'RATE_LIMIT_EXCEEDED', 4004, undefined],
  ] as const)('maps %s to %i %s', (kind, status, error, code, retryAfter) => {
    const row = FAILURES[kind as FailureKind];
    expect(row.status).toBe(status);
    expect(row.error).toBe(error);
    const body = JSON.parse(errorBody(kind as FailureKind).toString()) as Record<string, unknown>;
    expect(body.error).toBe(error);
    expect(typeof body.message).toBe('string');
    expect(body.code).toBe(code);
    expect(body.retry_after).toBe(retryAfter);
  });

  it('uses the published messages for discovery errors', () => {
    expect(JSON.parse(errorBody('discoveryDisabled').toString())).toEqual({ error: 'ENDPOINT_NOT_FOUND', message: 'Server does not support Cryptid protocol' });
    expect(JSON.parse(errorBody('unavailable').toString())).toMatchObject({ error: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable' });
  });
});

describe('an answer with a retry_after of its own', () => {
  it('carries the seconds in the body, last, as the protocol writes it, and nothing else changes', () => {
    expect(errorBody('rateLimited', 42).toString()).toBe('{"error":"RATE_LIMIT_EXCEEDED","message":"Rate limit exceeded","code":4004,"retry_after":42}');
    // A row's own retry_after is replaced, not repeated.
    expect(JSON.parse(errorBody('unavailable', 7).toString())).toEqual({ error: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable', retry_after: 7 });
    // Whole seconds, rounded up; nothing that is not a positive number gets in.
    expect(JSON.parse(errorBody('rateLimited', 1.2).toString()).retry_after).toBe(2);
    expect(JSON.parse(errorBody('rateLimited', Number.NaN).toString()).retry_after).toBe(0);
    expect(errorBody('rateLimited').toString()).not.toContain('retry_after');
  });

  it('is written with Retry-After, a matching Content-Length and the extra headers, over HTTP and on an upgrade socket', async () => {
    const server = createServer((req, res) => writeError(res, 'rateLimited', { ratelimit: '"a";r=0;t=9' }, false, 9));
    server.on('upgrade', (_req, socket) => writeSocketError(socket, 'rateLimited', { ratelimit: '"a";r=0;t=3' }, 3));
    const port = await listenLocal(server);
    try {
      const res = await testRequest(`http://127.0.0.1:${port}/x`);
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('9');
      expect(res.headers['content-length']).toBe(String(res.body.length));
      expect(res.headers.ratelimit).toBe('"a";r=0;t=9');
      expect(res.json).toMatchObject({ error: 'RATE_LIMIT_EXCEEDED', code: 4004, retry_after: 9 });
      const upgraded = await testRequest(`http://127.0.0.1:${port}/x`, { headers: { connection: 'upgrade', upgrade: 'websocket' } });
      expect(upgraded.status).toBe(429);
      expect(upgraded.headers['retry-after']).toBe('3');
      expect(upgraded.headers.ratelimit).toBe('"a";r=0;t=3');
      expect(upgraded.json).toMatchObject({ error: 'RATE_LIMIT_EXCEEDED', retry_after: 3 });
    } finally {
      await closeServer(server);
    }
  });
});
