import { describeError } from '../../../src/health/probe-error';

describe('describeError', () => {
  const table: Array<[string | undefined, string]> = [
    ['ECONNREFUSED', 'upstream refused the connection'],
    ['ECONNRESET', 'upstream reset the connection'],
    ['UND_ERR_SOCKET', 'upstream reset the connection'],
    ['ETIMEDOUT', 'connection to the upstream timed out'],
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
