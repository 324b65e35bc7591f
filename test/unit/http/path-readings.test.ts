import fc from 'fast-check';
import { firstSegments, foldSegment, hasControlCharacter } from '../../../src/http/path-readings';
import { controlCharacter, pathNotReadAs, pathReadAs, plainSegments } from '../../helpers/path-arbitraries';

describe('firstSegments', () => {
  it.each([
    ['/v1/messages', ['v1']],
    ['/v1/../Federation;x/a', ['v1', 'federation']],
    ['//./federation', ['federation']],
    ['/%66ederation/v1', ['%66ederation', 'federation']],
    ['/federation/../v1', ['federation', 'v1']],
    ['/', []],
  ])('reads %s as starting with %j', (path, expected) => {
    expect([...firstSegments(path)].sort()).toEqual([...expected].sort());
  });

  it('reads malformed percent-encoding leniently, segment by segment', () => {
    expect(firstSegments('/%66ederation/v1/%ff%zz')).toContain('federation');
    expect(firstSegments('/a/%E0%A4%A/b')).toEqual(new Set(['a']));
  });

  it('finds the word in every spelling an upstream may decode it from (property)', () => {
    fc.assert(
      fc.property(pathReadAs('federation'), (path) => firstSegments(path).has('federation')),
      { numRuns: 2000 },
    );
  });

  it('never finds it in a path whose first segment is another word (property)', () => {
    fc.assert(
      fc.property(pathNotReadAs('federation'), (path) => !firstSegments(path).has('federation')),
      { numRuns: 2000 },
    );
  });
});

describe('foldSegment', () => {
  it.each([
    ['Federation', 'federation'],
    [' federation\u00a0', 'federation'],
    ['federation;jsessionid=1', 'federation'],
    ['ｆｅｄｅｒａｔｉｏｎ', 'federation'],
    ['fédération', 'federation'],
    ['FEDERATİON', 'federation'],
    ['federatıon', 'federation'],
    ['fed\u00aderation', 'federation'],
    ['fed\u200beration', 'federation'],
    ['federation+', 'federation'],
  ])('folds %j to %j', (segment, folded) => {
    expect(foldSegment(segment)).toBe(folded);
  });
});

describe('hasControlCharacter', () => {
  it.each(['/a%00b', '/a%0Ab', '/a%0d%0a', '/%09', '/%7F', '/%C2%85', '/a%2500', '/a\u0001b'])('finds one in %j', (path) => {
    expect(hasControlCharacter(path)).toBe(true);
  });

  it.each(['/v1/messages', '/v1/a%20b', '/v1/%C3%A9', '/v1/%zz', '/v1/%', '/v1/\u00c3\u00a9'])('finds none in %j', (path) => {
    expect(hasControlCharacter(path)).toBe(false);
  });

  it('finds one wherever it is inserted, raw or percent-encoded to any depth (property)', () => {
    fc.assert(
      fc.property(plainSegments, controlCharacter, plainSegments, (before, control, after) => hasControlCharacter(`/${before.join('/')}${control}${after.join('/')}`)),
      { numRuns: 2000 },
    );
  });

  it('finds none in printable ASCII without percent signs (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\/[\x21-\x24\x26-\x7e]*$/), (path) => !hasControlCharacter(path)),
      { numRuns: 1000 },
    );
  });
});
