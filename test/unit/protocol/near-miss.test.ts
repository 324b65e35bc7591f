import { editDistance, nearMissOf } from '../../../src/protocol/near-miss';

describe('editDistance', () => {
  it.each([
    ['federation_enabled', 'federation_enabled', 0],
    ['federation_enable', 'federation_enabled', 1],
    ['supported_featurs', 'supported_features', 1],
    ['supported_faetures', 'supported_features', 1],
    ['federationenabled', 'federation_enabled', 1],
    ['rate_limit', 'rate_limits', 1],
    ['server_nam', 'server_name', 1],
    ['protocol_verison', 'protocol_version', 1],
    ['federation_enbld', 'federation_enabled', 2],
  ])('%s to %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it('stops counting past the limit', () => {
    expect(editDistance('websocket', 'server_name')).toBe(3);
    expect(editDistance('a', 'abcdefgh')).toBe(3);
    expect(editDistance('abcdef', 'uvwxyz', 10)).toBe(6);
  });
});

describe('nearMissOf', () => {
  const known = ['federation_enabled', 'supported_features', 'server_name'];

  it('names the known field a typo resembles, letter case ignored', () => {
    expect(nearMissOf('federation_enable', known)).toBe('federation_enabled');
    expect(nearMissOf('federationEnabled', known)).toBe('federation_enabled');
    expect(nearMissOf('Server_Name', known)).toBe('server_name');
  });

  it('passes known fields and real extra ones', () => {
    expect(nearMissOf('server_name', known)).toBeUndefined();
    expect(nearMissOf('websocket', known)).toBeUndefined();
    expect(nearMissOf('relay_network', known)).toBeUndefined();
  });
});
