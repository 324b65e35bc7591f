import { isCompatible, majorOf } from '../../src/client';
import { maxAgeSeconds, retryAfterSeconds } from '../../src/client/cache-control';
import { printable } from '../../src/client/printable';

describe('isCompatible', () => {
  it.each([
    ['1.0', '1.0', true],
    ['1.7', '1.0', true],
    ['1.0.9', '1', true],
    ['v1.2.3', '1.0', true],
    ['1.0.0-rc.1', '1.0', true],
    ['2.0', '1.0', false],
    ['0.9', '1.0', false],
    ['garbage', '1.0', false],
    ['garbage 1.0', '1.0', false],
    ['', '1.0', false],
    ['1.0', 'nonsense', false],
  ])('says %j against a %j client is %s', (server, client, expected) => {
    expect(isCompatible(server, client)).toBe(expected);
  });

  it('uses the client protocol version 1.0 by default', () => {
    expect(isCompatible('1.4')).toBe(true);
    expect(majorOf('3.1')).toBe(3);
  });
});

describe('Cache-Control and Retry-After', () => {
  it.each([
    ['public, max-age=3600', 3600],
    ['max-age="60"', 60],
    ['no-store', 0],
    ['max-age=60, no-cache', 0],
    ['max-age=-5', undefined],
    ['s-maxage=10', undefined],
    [undefined, undefined],
  ])('reads %j as %j seconds', (header, expected) => {
    expect(maxAgeSeconds(header)).toBe(expected);
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterSeconds('7', 0)).toBe(7);
    expect(retryAfterSeconds(new Date(30_000).toUTCString(), 0)).toBe(30);
    expect(retryAfterSeconds('soon', 0)).toBeUndefined();
  });
});

describe('printable', () => {
  it('escapes terminal control sequences and caps the length of server-supplied text', () => {
    expect(printable('ok\u001b[2J\u009b31m')).toBe('ok\\u001b[2J\\u009b31m');
    expect(printable('x'.repeat(200), 10)).toBe(`${'x'.repeat(10)}…`);
  });
});
