import { canonicalPath, federationRefused } from '../../../src/proxy/federation-guard';

describe('federationRefused', () => {
  it.each([
    '/federation',
    '/federation/',
    '/federation/v1/deliver/tx',
    '/Federation/v1/deliver/tx',
    '//federation/v1',
    '/v1/../federation/v1',
    '/./federation/v1',
    '/%66ederation/v1',
    '/%2566ederation/v1',
    '/v1/%2e%2e/federation/v1',
    '/v1\\..\\federation/v1',
  ])('refuses %s when federation is disabled', (path) => {
    expect(federationRefused(path, false)).toBe(true);
  });

  it.each(['/federationist', '/v1/federation/x', '/', '/v1/messages', '/%zz/federation-ish'])('lets %s through', (path) => {
    expect(federationRefused(path, false)).toBe(false);
  });

  it('refuses nothing when federation is enabled', () => {
    expect(federationRefused('/federation/v1/deliver/tx', true)).toBe(false);
  });
});

describe('canonicalPath', () => {
  it('resolves dot segments without climbing above the root', () => {
    expect(canonicalPath('/../../a/./b/../c')).toBe('/a/c');
  });

  it('survives malformed percent-encoding', () => {
    expect(canonicalPath('/a/%E0%A4%A/b')).toBe('/a/%e0%a4%a/b');
  });
});
