import { FAILURES } from '../../../src/http/error-status';
import type { NetworkFailure } from '../../../src/net/failure';
import { classifyUpstreamError, failureKindOf, UpstreamTimeoutError } from '../../../src/proxy/failure';

function err(code: string): Error {
  return Object.assign(new Error(`boom ${code}`), { code });
}

describe('classifyUpstreamError', () => {
  it.each<[string, NetworkFailure]>([
    ['ECONNREFUSED', 'refused'],
    ['ECONNRESET', 'reset'],
    ['EPIPE', 'reset'],
    ['ECONNABORTED', 'reset'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['EHOSTUNREACH', 'unreachable'],
    ['ENETUNREACH', 'unreachable'],
    ['ETIMEDOUT', 'unreachable'],
    ['UPSTREAM_TIMEOUT', 'timeout'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['HPE_INVALID_CONSTANT', 'protocol'],
    ['UND_ERR_SOCKET', 'reset'],
    ['UND_ERR_CONNECT_TIMEOUT', 'unreachable'],
    ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'protocol'],
    // undici's own timeouts are off in the engine; were one to fire it is not the gateway's 504.
    ['UND_ERR_HEADERS_TIMEOUT', 'other'],
    ['EWHATEVER', 'other'],
  ])('classifies %s as %s', (code, failure) => {
    expect(classifyUpstreamError(err(code))).toBe(failure);
  });

  it('classifies the gateway timer error as a timeout, never as a reset', () => {
    expect(classifyUpstreamError(new UpstreamTimeoutError(30000))).toBe('timeout');
  });

  it('classifies errors without a code, and non-errors, as other', () => {
    expect(classifyUpstreamError(new Error('x'))).toBe('other');
    expect(classifyUpstreamError('x')).toBe('other');
    expect(classifyUpstreamError(null)).toBe('other');
  });
});

describe('failureKindOf', () => {
  it.each<[NetworkFailure, number, string]>([
    ['refused', 502, 'UPSTREAM_UNAVAILABLE'],
    ['reset', 502, 'UPSTREAM_UNAVAILABLE'],
    ['dns', 502, 'UPSTREAM_UNAVAILABLE'],
    ['unreachable', 502, 'UPSTREAM_UNAVAILABLE'],
    ['tls', 502, 'UPSTREAM_UNAVAILABLE'],
    ['protocol', 502, 'UPSTREAM_UNAVAILABLE'],
    ['other', 502, 'UPSTREAM_UNAVAILABLE'],
    ['timeout', 504, 'UPSTREAM_TIMEOUT'],
  ])('answers %s with %i %s', (failure, status, error) => {
    const row = FAILURES[failureKindOf(failure)];
    expect(row.status).toBe(status);
    expect(row.error).toBe(error);
  });
});
