import { FAILURES, type FailureKind } from '../../../src/http/error-status';
import { errorBody } from '../../../src/http/json-error';

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
