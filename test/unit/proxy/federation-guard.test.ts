import fc from 'fast-check';
import { federationRefused } from '../../../src/proxy/federation-guard';
import { pathNotReadAs, pathReadAs } from '../../helpers/path-arbitraries';

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
    '/federation;a/v1/x',
    '/federation%20/v1',
    '/%20federation/v1',
    '/FEDERATION%09/v1',
    '/x/..;/federation/v1',
    '/%66ederation/v1/%ff',
  ])('refuses %s when federation is disabled', (path) => {
    expect(federationRefused(path, false)).toBe(true);
  });

  it.each(['/federationist', '/v1/federation/x', '/', '/v1/messages', '/%zz/federation-ish', '/federation-x/v1'])('lets %s through', (path) => {
    expect(federationRefused(path, false)).toBe(false);
  });

  it('refuses nothing when federation is enabled', () => {
    expect(federationRefused('/federation/v1/deliver/tx', true)).toBe(false);
  });

  it('refuses every path that decodes to the federation prefix (property)', () => {
    fc.assert(
      fc.property(pathReadAs('federation'), (path) => federationRefused(path, false)),
      { numRuns: 2000 },
    );
  });

  it('lets through every path that starts with another segment (property)', () => {
    fc.assert(
      fc.property(pathNotReadAs('federation'), (path) => !federationRefused(path, false)),
      { numRuns: 1000 },
    );
  });
});
