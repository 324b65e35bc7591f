import { gzipSync } from 'node:zlib';
import type { OutgoingHttpHeaders } from 'node:http';
import { frameHeldBody, heldBody, mediaTypeOf } from '../../../src/proxy/parsed-body';

const json = '{ "a": 1 }';

describe('heldBody', () => {
  it('takes req.rawBody first, then req.body, when it has the declared length', () => {
    const raw = Buffer.from(json);
    expect(heldBody({ headers: { 'content-length': String(raw.length) }, rawBody: raw, body: { a: 1 } }, 'reject')).toEqual({ bytes: raw, reencoded: false });
    expect(heldBody({ headers: { 'content-length': '3' }, body: 'abc' }, 'reject')).toEqual({ bytes: Buffer.from('abc'), reencoded: false });
  });

  it('encodes a string body back in its charset', () => {
    const latin1 = Buffer.from('café', 'latin1');
    const got = heldBody({ headers: { 'content-type': 'text/plain; charset=ISO-8859-1', 'content-length': String(latin1.length) }, body: 'café' }, 'reject');
    expect(got?.bytes).toEqual(latin1);
  });

  it('does not pass bytes that are not the original as the body', () => {
    // A parser that stripped a byte-order mark, one that inflated a gzip body, a charset Node cannot encode.
    expect(heldBody({ headers: { 'content-type': 'text/plain', 'content-length': '6' }, body: 'abc' }, 'reject')).toBeUndefined();
    const zipped = gzipSync(json);
    expect(heldBody({ headers: { 'content-encoding': 'gzip', 'content-length': String(zipped.length) }, body: Buffer.from(json) }, 'reject')).toBeUndefined();
    expect(heldBody({ headers: { 'content-encoding': 'gzip', 'transfer-encoding': 'chunked' }, body: Buffer.from(json) }, 'reject')).toBeUndefined();
    expect(heldBody({ headers: { 'content-type': 'text/plain; charset=shift_jis', 'content-length': '3' }, body: 'abc' }, 'reject')).toBeUndefined();
  });

  it('accepts a chunked body at hand when it has no content coding', () => {
    expect(heldBody({ headers: { 'transfer-encoding': 'chunked' }, body: Buffer.from('xyz') }, 'reject')?.bytes.toString()).toBe('xyz');
  });

  it('refuses a parsed object unless asked to re-encode it', () => {
    expect(heldBody({ headers: { 'content-type': 'application/json', 'content-length': '10' }, body: { a: 1 } }, 'reject')).toBeUndefined();
  });

  it('re-encodes JSON and +json bodies', () => {
    expect(heldBody({ headers: { 'content-type': 'application/json; charset=utf-8' }, body: { a: [1, 'é'] } }, 'reserialize')).toEqual({
      bytes: Buffer.from('{"a":[1,"é"]}'),
      reencoded: true,
    });
    expect(heldBody({ headers: { 'content-type': 'application/problem+json' }, body: [true] }, 'reserialize')?.bytes.toString()).toBe('[true]');
  });

  it('re-encodes URL-encoded bodies, flat and nested, as qs reads them back', () => {
    const got = heldBody(
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: { a: '1', b: ['x y', 'z'], c: { d: 'e&f' }, g: [{ h: '1' }] } },
      'reserialize',
    );
    expect(got?.bytes.toString()).toBe('a=1&b=x+y&b=z&c%5Bd%5D=e%26f&g%5B%5D%5Bh%5D=1');
  });

  it('gives up on what it cannot re-encode faithfully', () => {
    expect(heldBody({ headers: { 'content-type': 'application/json' }, body: { n: 1n } }, 'reserialize')).toBeUndefined();
    expect(heldBody({ headers: { 'content-type': 'application/xml' }, body: { a: 1 } }, 'reserialize')).toBeUndefined();
    expect(heldBody({ headers: { 'content-type': 'text/plain', 'content-length': '9' }, body: 'short' }, 'reserialize')).toBeUndefined();
    expect(heldBody({ headers: { 'content-type': 'application/json' } }, 'reserialize')).toBeUndefined();
  });
});

describe('frameHeldBody', () => {
  it('sends the held bytes with their own length, unchunked; a re-encoded body without its content coding', () => {
    const headers: OutgoingHttpHeaders = { 'transfer-encoding': 'chunked', 'content-encoding': 'gzip', 'content-type': 'application/json' };
    frameHeldBody(headers, { bytes: Buffer.from('{}'), reencoded: true });
    expect(headers).toEqual({ 'content-length': '2', 'content-type': 'application/json' });
    const kept: OutgoingHttpHeaders = { 'content-length': '3', 'content-encoding': 'br' };
    frameHeldBody(kept, { bytes: Buffer.from('abc'), reencoded: false });
    expect(kept).toEqual({ 'content-length': '3', 'content-encoding': 'br' });
  });
});

describe('mediaTypeOf', () => {
  it('drops parameters and case', () => {
    expect(mediaTypeOf('Application/JSON; charset=utf-8')).toBe('application/json');
    expect(mediaTypeOf(undefined)).toBe('');
  });
});
