import { classifyNetworkError, describeNetworkFailure, NETWORK_FAILURES, type NetworkFailure } from '../../../src/net/failure';

function withCode(code: unknown): Error {
  return Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:8008'), { code });
}

describe('the one network-failure classifier', () => {
  it.each<[string, NetworkFailure, boolean]>([
    ['ECONNREFUSED', 'refused', false],
    ['UND_ERR_SOCKET', 'reset', false],
    ['ETIMEDOUT', 'unreachable', false],
    ['UND_ERR_CONNECT_TIMEOUT', 'unreachable', false],
    ['UPSTREAM_TIMEOUT', 'timeout', false],
    ['CERT_HAS_EXPIRED', 'tls', true],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls', true],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls', true],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls', true],
    ['HOSTNAME_MISMATCH', 'tls', true],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls', false],
    ['ERR_OSSL_EVP_BAD_DECRYPT', 'tls', false],
    ['HPE_INVALID_CONSTANT', 'protocol', false],
    ['EMFILE', 'other', false],
  ])('classifies %s as %s (certificate at fault: %s)', (code, kind, certificate) => {
    expect(classifyNetworkError(withCode(code))).toEqual({ kind, code, certificate });
  });

  it('never quotes a code that is not a plain identifier, nor anything without one', () => {
    expect(classifyNetworkError(withCode('weird 10.0.0.5'))).toEqual({ kind: 'other', code: undefined, certificate: false });
    expect(classifyNetworkError(withCode(7))).toEqual({ kind: 'other', code: undefined, certificate: false });
    expect(classifyNetworkError('boom')).toEqual({ kind: 'other', code: undefined, certificate: false });
    expect(classifyNetworkError(null)).toEqual({ kind: 'other', code: undefined, certificate: false });
  });

  it('describes every known kind from the code alone, never from the message', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'CERT_HAS_EXPIRED', 'HPE_INVALID_CONSTANT']) {
      const text = describeNetworkFailure(classifyNetworkError(withCode(code)), 'upstream');
      expect(text).toMatch(/upstream/);
      expect(text).not.toContain('10.0.0.5');
    }
    expect(describeNetworkFailure(classifyNetworkError(withCode('EMFILE')), 'upstream')).toBeUndefined();
  });

  it('lists every kind once', () => {
    expect(new Set(NETWORK_FAILURES).size).toBe(NETWORK_FAILURES.length);
    expect([...NETWORK_FAILURES].sort()).toEqual(['dns', 'other', 'protocol', 'refused', 'reset', 'timeout', 'tls', 'unreachable']);
  });
});
