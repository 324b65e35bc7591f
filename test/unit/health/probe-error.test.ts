import { describeError } from '../../../src/health/probe-error';

describe('describeError', () => {
  const table: Array<[string | undefined, string]> = [
    ['ECONNREFUSED', 'upstream refused the connection'],
    ['ECONNRESET', 'upstream reset the connection'],
    ['UND_ERR_SOCKET', 'upstream reset the connection'],
    ['ETIMEDOUT', 'upstream did not accept the connection in time'],
    // The proxy and the client read this code the same way (one classifier).
    ['UND_ERR_CONNECT_TIMEOUT', 'upstream did not accept the connection in time'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'TLS handshake with the upstream failed (ERR_SSL_WRONG_VERSION_NUMBER)'],
    ['ENOTFOUND', 'upstream host name could not be resolved'],
    ['EHOSTUNREACH', 'upstream host is unreachable'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'TLS handshake with the upstream failed (DEPTH_ZERO_SELF_SIGNED_CERT)'],
    ['EMFILE', 'probe failed (EMFILE)'],
    ['weird code: 10.0.0.5:8008', 'probe failed'],
    [undefined, 'probe failed'],
  ];

  it.each(table)('describes the error code %s without the message', (code, reason) => {
    const err = Object.assign(new Error(`connect ${code ?? ''} 10.0.0.5:8008`), code === undefined ? {} : { code });
    expect(describeError(err)).toBe(reason);
    expect(describeError(err)).not.toContain('10.0.0.5');
  });
});
