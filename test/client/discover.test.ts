import type { TLSSocket } from 'node:tls';
import { discover, DiscoveryError, type DiscoveryErrorCode, type DiscoveryResult } from '../../src/client';
import { makeCert, opensslFingerprint, type TestCert } from '../helpers/certs';
import { documentFor, startCryptidServer, type FakeCryptidServer } from '../helpers/cryptid-server';
import { startTlsServer } from '../helpers/tls-server';

const DOMAIN = 'chat.example.test';

let cert: TestCert;
let otherCert: TestCert;
let wrongNameCert: TestCert;

beforeAll(() => {
  cert = makeCert({ commonName: DOMAIN });
  otherCert = makeCert({ commonName: DOMAIN });
  wrongNameCert = makeCert({ commonName: 'elsewhere.example.test' });
});
afterAll(() => {
  cert.cleanup();
  otherCert.cleanup();
  wrongNameCert.cleanup();
});

/** Runs `fn` against a fake server, closing it whatever happens. */
async function withServer<T>(fn: (s: FakeCryptidServer) => Promise<T>, setup?: (s: FakeCryptidServer) => void, serverCert = cert): Promise<T> {
  const server = await startCryptidServer(serverCert, DOMAIN);
  setup?.(server);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

function discoverFrom(server: FakeCryptidServer, extra: Parameters<typeof discover>[1] = {}): Promise<DiscoveryResult> {
  return discover(DOMAIN, { ca: cert.cert, resolve: server.resolve, timeoutMs: 2000, ...extra });
}

async function codeOf(promise: Promise<unknown>): Promise<DiscoveryErrorCode> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DiscoveryError);
  return (error as DiscoveryError).code;
}

describe('discover against a well-behaved server', () => {
  it('returns the validated document, the presented certificate fingerprint and the cache metadata', async () => {
    await withServer(async (server) => {
      const result = await discoverFrom(server, { now: () => 1234 });
      expect(result.domain).toBe(DOMAIN);
      expect(result.document.server_name).toBe(DOMAIN);
      expect(result.document.supported_features).toContain('mls_messaging');
      expect(result.fingerprint).toBe(opensslFingerprint(cert.certPath));
      expect(result.pin).toEqual({ status: 'unpinned' });
      expect(result.cache).toEqual({ fetchedAt: 1234, maxAgeSeconds: 3600, etag: undefined, revalidated: false });
    });
  });

  it('normalises the domain to lower case without a trailing dot', async () => {
    await withServer(async (server) => {
      const result = await discover('Chat.Example.TEST.', { ca: cert.cert, resolve: server.resolve });
      expect(result.domain).toBe(DOMAIN);
    });
  });

  it('sends the domain as Host and SNI even when connecting to an address from resolve', async () => {
    let host: string | undefined;
    let servername: string | undefined;
    await withServer(
      async (server) => {
        await discoverFrom(server);
        expect(host).toBe(DOMAIN);
        expect(servername).toBe(DOMAIN);
      },
      (server) => {
        server.behaviour.onDiscovery = (req, res) => {
          host = req.headers.host;
          servername = (req.socket as TLSSocket).servername || undefined;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(server.behaviour.document));
        };
      },
    );
  });

  it('keeps future fields of the document as given', async () => {
    await withServer(
      async (server) => {
        const result = await discoverFrom(server);
        expect(result.document.websocket).toEqual({ path: '/v1/stream' });
      },
      (server) => {
        server.behaviour.document = documentFor(DOMAIN, cert, { websocket: { path: '/v1/stream' } });
      },
    );
  });

  it('revalidates with If-None-Match and keeps the previous document on 304', async () => {
    let seen: string | undefined;
    await withServer(
      async (server) => {
        const first = await discoverFrom(server);
        expect(first.cache.etag).toBe('"v1"');
        const second = await discoverFrom(server, { previous: first });
        expect(seen).toBe('"v1"');
        expect(second.cache.revalidated).toBe(true);
        expect(second.document).toEqual(first.document);
      },
      (server) => {
        server.behaviour.onDiscovery = (req, res) => {
          seen = req.headers['if-none-match'];
          if (seen === '"v1"') {
            res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=60' });
            res.end();
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"' });
          res.end(JSON.stringify(server.behaviour.document));
        };
      },
    );
  });

  it('follows a redirect on the same host over HTTPS', async () => {
    await withServer(
      async (server) => {
        const result = await discoverFrom(server);
        expect(result.document.server_name).toBe(DOMAIN);
        expect(server.count('/moved')).toBe(1);
      },
      (server) => {
        server.behaviour.onDiscovery = (_req, res) => {
          res.writeHead(302, { location: '/moved' });
          res.end();
        };
        server.behaviour.routes['/moved'] = (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(server.behaviour.document));
        };
      },
    );
  });
});

describe('discover refuses every kind of bad answer with its own code', () => {
  it('answers ENDPOINT_NOT_FOUND for a 404', async () => {
    await withServer(
      async (server) => {
        const error = await discoverFrom(server).catch((e: unknown) => e as DiscoveryError);
        expect(error).toBeInstanceOf(DiscoveryError);
        expect((error as DiscoveryError).code).toBe('ENDPOINT_NOT_FOUND');
        expect((error as DiscoveryError).status).toBe(404);
      },
      (server) => {
        server.behaviour.discoveryStatus = 404;
        server.behaviour.document = { error: 'ENDPOINT_NOT_FOUND', message: 'Server does not support Cryptid protocol' };
      },
    );
  });

  it('answers SERVER_UNAVAILABLE for a 503 and keeps Retry-After', async () => {
    await withServer(
      async (server) => {
        const error = (await discoverFrom(server).catch((e: unknown) => e)) as DiscoveryError;
        expect(error.code).toBe('SERVER_UNAVAILABLE');
        expect(error.transient).toBe(true);
        expect(error.retryAfterSeconds).toBe(5);
      },
      (server) => {
        server.behaviour.discoveryStatus = 503;
        server.behaviour.discoveryHeaders = { 'retry-after': '5' };
        server.behaviour.document = { error: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable' };
      },
    );
  });

  it('answers INVALID_DOCUMENT for a body that is not JSON', async () => {
    await withServer(
      async (server) => expect(await codeOf(discoverFrom(server))).toBe('INVALID_DOCUMENT'),
      (server) => {
        server.behaviour.document = '<html>hello</html>';
      },
    );
  });

  it('answers INVALID_DOCUMENT for a body over the size cap, declared or streamed', async () => {
    const big = JSON.stringify({ ...documentFor(DOMAIN, cert), padding: 'x'.repeat(100 * 1024) });
    await withServer(
      async (server) => {
        const declared = (await discoverFrom(server).catch((e: unknown) => e)) as DiscoveryError;
        expect(declared.code).toBe('INVALID_DOCUMENT');
        expect(declared.message).toContain('65536 bytes');
        server.behaviour.onDiscovery = (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          // Chunked, no Content-Length: the cap must hold while streaming.
          for (let i = 0; i < big.length; i += 8192) res.write(big.slice(i, i + 8192));
          res.end();
        };
        expect(await codeOf(discoverFrom(server))).toBe('INVALID_DOCUMENT');
      },
      (server) => {
        server.behaviour.document = big;
      },
    );
  });

  it('answers INVALID_DOCUMENT listing each missing field', async () => {
    await withServer(
      async (server) => {
        const error = (await discoverFrom(server).catch((e: unknown) => e)) as DiscoveryError;
        expect(error.code).toBe('INVALID_DOCUMENT');
        expect(error.problems.some((p) => p.startsWith('federation_enabled'))).toBe(true);
        expect(error.problems.some((p) => p.startsWith('rate_limits'))).toBe(true);
      },
      (server) => {
        const { federation_enabled: _f, rate_limits: _r, ...rest } = documentFor(DOMAIN, cert);
        server.behaviour.document = rest;
      },
    );
  });

  it('answers INVALID_DOCUMENT for an unparseable protocol version', async () => {
    await withServer(
      async (server) => expect(await codeOf(discoverFrom(server))).toBe('INVALID_DOCUMENT'),
      (server) => {
        server.behaviour.document = documentFor(DOMAIN, cert, { protocol_version: 'banana' });
      },
    );
  });

  it('answers INVALID_DOCUMENT for a fingerprint of the wrong form', async () => {
    await withServer(
      async (server) => expect(await codeOf(discoverFrom(server))).toBe('INVALID_DOCUMENT'),
      (server) => {
        server.behaviour.document = documentFor(DOMAIN, cert, { certificate_fingerprint: 'SHA256:AB:CD' });
      },
    );
  });

  it('answers SERVER_NAME_MISMATCH when the document names another server', async () => {
    await withServer(
      async (server) => {
        const error = (await discoverFrom(server).catch((e: unknown) => e)) as DiscoveryError;
        expect(error.code).toBe('SERVER_NAME_MISMATCH');
        expect(error.message).toContain('evil.example.test');
      },
      (server) => {
        server.behaviour.document = documentFor(DOMAIN, cert, { server_name: 'evil.example.test' });
      },
    );
  });

  it('answers INCOMPATIBLE_VERSION when the caller states a different major', async () => {
    await withServer(
      async (server) => {
        expect(await codeOf(discoverFrom(server, { protocolVersion: '1.0' }))).toBe('INCOMPATIBLE_VERSION');
        // Without the caller's version, the document is simply returned.
        expect((await discoverFrom(server)).document.protocol_version).toBe('2.1');
      },
      (server) => {
        server.behaviour.document = documentFor(DOMAIN, cert, { protocol_version: '2.1' });
      },
    );
  });

  it('answers FINGERPRINT_MISMATCH when the presented certificate is not the published one', async () => {
    await withServer(
      async (server) => {
        const error = (await discoverFrom(server).catch((e: unknown) => e)) as DiscoveryError;
        expect(error.code).toBe('FINGERPRINT_MISMATCH');
        expect(error.fingerprintSource).toBe('document');
        expect(error.expectedFingerprint).toBe(opensslFingerprint(otherCert.certPath));
        expect(error.presentedFingerprint).toBe(opensslFingerprint(cert.certPath));
      },
      (server) => {
        server.behaviour.document = documentFor(DOMAIN, otherCert);
      },
    );
  });

  it('answers NETWORK_ERROR when the server resets the connection', async () => {
    await withServer(
      async (server) => expect(await codeOf(discoverFrom(server))).toBe('NETWORK_ERROR'),
      (server) => {
        server.behaviour.onDiscovery = (req) => req.socket.destroy();
      },
    );
  });

  it('answers NETWORK_ERROR when the server resets in the middle of the body', async () => {
    await withServer(
      async (server) => expect(await codeOf(discoverFrom(server))).toBe('NETWORK_ERROR'),
      (server) => {
        server.behaviour.onDiscovery = (req, res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
          res.write('{"protocol_version":', () => req.socket.destroy());
        };
      },
    );
  });

  it('answers NETWORK_ERROR when nothing listens', async () => {
    const server = await startTlsServer(cert, () => undefined);
    const url = server.url;
    await server.close();
    expect(await codeOf(discover(DOMAIN, { ca: cert.cert, resolve: () => url }))).toBe('NETWORK_ERROR');
  });

  it('answers TIMEOUT when the server does not answer in time', async () => {
    await withServer(
      async (server) => {
        const error = (await discoverFrom(server, { timeoutMs: 150 }).catch((e: unknown) => e)) as DiscoveryError;
        expect(error.code).toBe('TIMEOUT');
        expect(error.message).toContain('150 ms');
      },
      (server) => {
        server.behaviour.onDiscovery = () => undefined; // never answers
      },
    );
  });

  it('answers REDIRECT_REJECTED for a redirect to plain HTTP', async () => {
    await withServer(
      async (server) => {
        const error = (await discoverFrom(server).catch((e: unknown) => e)) as DiscoveryError;
        expect(error.code).toBe('REDIRECT_REJECTED');
        expect(error.message).toContain('http:');
      },
      (server) => {
        server.behaviour.onDiscovery = (_req, res) => {
          res.writeHead(301, { location: `http://${DOMAIN}/.well-known/cryptid` });
          res.end();
        };
      },
    );
  });

  it('answers REDIRECT_REJECTED for a redirect to another host', async () => {
    await withServer(
      async (server) => expect(await codeOf(discoverFrom(server))).toBe('REDIRECT_REJECTED'),
      (server) => {
        server.behaviour.onDiscovery = (_req, res) => {
          res.writeHead(302, { location: 'https://evil.example.test/.well-known/cryptid' });
          res.end();
        };
      },
    );
  });

  it('answers REDIRECT_REJECTED for a redirect loop after a few hops', async () => {
    await withServer(
      async (server) => {
        expect(await codeOf(discoverFrom(server))).toBe('REDIRECT_REJECTED');
        expect(server.count('/.well-known/cryptid')).toBe(4);
      },
      (server) => {
        server.behaviour.onDiscovery = (_req, res) => {
          res.writeHead(307, { location: '/.well-known/cryptid' });
          res.end();
        };
      },
    );
  });

  it('answers CERTIFICATE_INVALID for a certificate the trust store does not know', async () => {
    await withServer(async (server) => {
      // No `ca`: the system store, which rightly does not trust a self-signed test certificate.
      expect(await codeOf(discover(DOMAIN, { resolve: server.resolve, timeoutMs: 2000 }))).toBe('CERTIFICATE_INVALID');
    });
  });

  it('answers CERTIFICATE_INVALID for a trusted certificate issued to another name', async () => {
    await withServer(
      async (server) => {
        const error = (await discover(DOMAIN, { ca: wrongNameCert.cert, resolve: server.resolve }).catch((e: unknown) => e)) as DiscoveryError;
        expect(error.code).toBe('CERTIFICATE_INVALID');
      },
      undefined,
      wrongNameCert,
    );
  });
});

describe('discover inputs', () => {
  it('rejects a domain that is not a fully qualified name before connecting', async () => {
    await expect(discover('localhost:8443')).rejects.toThrow(TypeError);
  });

  it('refuses a resolve() that points at plain HTTP', async () => {
    await expect(discover(DOMAIN, { resolve: () => 'http://127.0.0.1:1' })).rejects.toThrow(/https/);
  });

  it('rejects with the signal reason when the caller aborts', async () => {
    await withServer(
      async (server) => {
        const controller = new AbortController();
        const pending = discoverFrom(server, { signal: controller.signal });
        controller.abort(new Error('caller gave up'));
        await expect(pending).rejects.toThrow('caller gave up');
      },
      (server) => {
        server.behaviour.onDiscovery = () => undefined;
      },
    );
  });
});
