import type { IncomingMessage } from 'node:http';
import { checkRequest } from '../../../src/proxy/request-checks';

/** The fields `checkRequest` reads, as node:http fills them from raw name/value pairs. */
function request(method: string, url: string, raw: string[]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    headers[name] ??= raw[i + 1]!;
  }
  return { method, url, headers, rawHeaders: raw } as unknown as IncomingMessage;
}

const HOST = ['Host', 'chat.example.test'];

describe('checkRequest', () => {
  it.each([
    ['GET', '/v1/messages?x=1', HOST, '/v1/messages?x=1', '/v1/messages'],
    ['GET', 'http://chat.example.test/v1/x?q', HOST, '/v1/x?q', '/v1/x'],
    ['GET', 'HTTP://Chat.Example.Test?q', HOST, '/?q', '/'],
    ['POST', '/v1/messages', [...HOST, 'Transfer-Encoding', ' Chunked '], '/v1/messages', '/v1/messages'],
    ['GET', '/', ['host', '[::1]:8443', 'Connection', 'keep-alive'], '/', '/'],
    ['GET', '/', [...HOST, "X-!#$%&'*+-.^_`|~09az", 'every token character'], '/', '/'],
  ])('forwards %s %s in origin form', (method, url, raw, target, path) => {
    expect(checkRequest(request(method, url, raw))).toEqual({ verdict: 'forward', target, path });
  });

  it.each([
    ['CONNECT', 'chat.example.test:443', HOST, 'methodNotAllowed'],
    ['TRACE', '/', HOST, 'methodNotAllowed'],
    ['POST', '/', [...HOST, 'Transfer-Encoding', 'gzip, chunked'], 'notImplemented'],
    ['GET', '/', [], 'badHost'],
    ['GET', '/', [...HOST, 'host', 'chat.example.test'], 'badHost'],
    ['GET', '/', ['Host', 'chat.example.test:'], 'badHost'],
    ['GET', '/', ['Host', 'user@chat.example.test'], 'badHost'],
    ['GET', '/', ['Host', 'chat.example.test:99999x'], 'badHost'],
    ['GET', '/', [...HOST, 'Connection', 'keep-alive, Host'], 'badHost'],
    ['GET', '*', HOST, 'badTarget'],
    ['GET', 'ftp://chat.example.test/', HOST, 'badTarget'],
    ['GET', 'http://other.example/', HOST, 'badTarget'],
    ['GET', '/v1/%00', HOST, 'badTarget'],
    ['GET', 'http://chat.example.test/v1/%0a', HOST, 'badTarget'],
    // Header names that are not tokens (RFC 9110 §5.6.2): Node 20.18's parser (llhttp 8) lets them through.
    ['GET', '/', [...HOST, 'Bad Header', 'x'], 'badRequest'],
    ['GET', '/', [...HOST, 'X-A(b)', 'x'], 'badRequest'],
    ['GET', '/', [...HOST, '', 'x'], 'badRequest'],
  ])('refuses %s %s (%j) as %s', (method, url, raw, kind) => {
    const checked = checkRequest(request(method, url, raw));
    expect(checked.verdict === 'refuse' && checked.refusal.kind).toBe(kind);
  });

  it('answers OPTIONS * itself and no other method with an asterisk', () => {
    expect(checkRequest(request('OPTIONS', '*', HOST))).toEqual({ verdict: 'serverOptions' });
  });
});
