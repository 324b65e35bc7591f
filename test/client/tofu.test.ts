import { discover, DiscoveryError, MemoryTofuStore, type TofuStore } from '../../src/client';
import { fingerprintOfPem } from '../../src/protocol/fingerprint';
import { makeCert, type TestCert } from '../helpers/certs';
import { documentFor, startCryptidServer, type FakeCryptidServer } from '../helpers/cryptid-server';

const DOMAIN = 'chat.example.test';
let cert: TestCert;
let rotated: TestCert;
let server: FakeCryptidServer;

beforeAll(() => {
  cert = makeCert({ commonName: DOMAIN });
  rotated = makeCert({ commonName: DOMAIN });
});
afterAll(() => {
  cert.cleanup();
  rotated.cleanup();
});
beforeEach(async () => {
  server = await startCryptidServer(cert, DOMAIN);
});
afterEach(async () => {
  await server.close();
});

function discoverWith(store: TofuStore, accept?: boolean | string) {
  return discover(DOMAIN, {
    ca: [cert.cert, rotated.cert],
    resolve: server.resolve,
    tofuStore: store,
    ...(accept !== undefined && { acceptNewFingerprint: accept }),
  });
}

/** The server rotates to another certificate and publishes its fingerprint, as the gateway does. */
function rotate(): void {
  server.useCert(rotated);
  server.behaviour.document = documentFor(DOMAIN, rotated);
}

describe('trust on first use', () => {
  it('pins the fingerprint on first sight', async () => {
    const store = new MemoryTofuStore();
    const result = await discoverWith(store);
    expect(result.pin).toEqual({ status: 'first-use' });
    expect(await store.get(DOMAIN)).toBe(fingerprintOfPem(cert.cert));
  });

  it('reports a match when the same certificate comes back', async () => {
    const store = new MemoryTofuStore({ [DOMAIN]: fingerprintOfPem(cert.cert) });
    expect((await discoverWith(store)).pin).toEqual({ status: 'match' });
  });

  it('fails with FINGERPRINT_MISMATCH naming both fingerprints when the certificate changes', async () => {
    const store = new MemoryTofuStore();
    await discoverWith(store);
    rotate();
    const error = (await discoverWith(store).catch((e: unknown) => e)) as DiscoveryError;
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error.code).toBe('FINGERPRINT_MISMATCH');
    expect(error.fingerprintSource).toBe('pin');
    expect(error.expectedFingerprint).toBe(fingerprintOfPem(cert.cert));
    expect(error.presentedFingerprint).toBe(fingerprintOfPem(rotated.cert));
    expect(error.message).toContain(fingerprintOfPem(cert.cert));
    expect(error.message).toContain(fingerprintOfPem(rotated.cert));
    // The pin is untouched until someone accepts.
    expect(await store.get(DOMAIN)).toBe(fingerprintOfPem(cert.cert));
  });

  it('accepts the new certificate only when the caller says so, then matches it', async () => {
    const store = new MemoryTofuStore();
    await discoverWith(store);
    rotate();
    const accepted = await discoverWith(store, true);
    expect(accepted.pin).toEqual({ status: 'accepted', previous: fingerprintOfPem(cert.cert) });
    expect((await discoverWith(store)).pin).toEqual({ status: 'match' });
  });

  it('accepts a named fingerprint only if it is the one presented', async () => {
    const store = new MemoryTofuStore({ [DOMAIN]: fingerprintOfPem(cert.cert) });
    rotate();
    const wrong = `sha256:${'0'.repeat(64)}`;
    await expect(discoverWith(store, wrong)).rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
    const accepted = await discoverWith(store, fingerprintOfPem(rotated.cert));
    expect(accepted.pin.status).toBe('accepted');
  });

  it('does not pin a certificate that does not match its own document', async () => {
    const store = new MemoryTofuStore();
    server.behaviour.document = documentFor(DOMAIN, rotated);
    await expect(discoverWith(store)).rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH', fingerprintSource: 'document' });
    expect(await store.get(DOMAIN)).toBeUndefined();
  });
});
