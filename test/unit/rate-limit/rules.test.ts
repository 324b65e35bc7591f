import type { ResolvedRateLimitRule } from '../../../src/config/options';
import { resolvedPaths } from '../../../src/http/path-readings';
import { compileRules, matchRules, NO_RULES, policyMember } from '../../../src/rate-limit/rules';

const rule = (name: string, match: [string | undefined, string][], limit = 10, windowMs = 60_000): ResolvedRateLimitRule => ({
  name,
  match: match.map(([method, prefix]) => ({ method, prefix })),
  key: 'ip',
  limit,
  windowMs,
});

const RULES = compileRules(
  [rule('federation', [[undefined, '/federation/']], 1000), rule('announce', [['POST', '/v1/announce']], 240, 3_600_000), rule('root-posts', [['POST', '/']], 5, 1000)],
  3,
);

const names = (method: string, path: string): string[] => matchRules(RULES, method, path).map((r) => r.name);

describe('rate-limit rules', () => {
  it('match a prefix ending in "/" on every path below it, and the path without its slash', () => {
    expect(names('PUT', '/federation/v1/deliver/tx_1')).toEqual(['federation']);
    expect(names('GET', '/federation/')).toEqual(['federation']);
    expect(names('GET', '/federation')).toEqual(['federation']);
    expect(names('GET', '/federationist')).toEqual([]);
    expect(names('GET', '/v1/federation/x')).toEqual([]);
  });

  it('match a prefix not ending in "/" on that path and below it, never on a longer segment', () => {
    expect(names('POST', '/v1/announce')).toEqual(['announce', 'root-posts']);
    expect(names('POST', '/v1/announce/')).toEqual(['announce', 'root-posts']);
    expect(names('POST', '/v1/announce/again')).toEqual(['announce', 'root-posts']);
    expect(names('POST', '/v1/announcement')).toEqual(['root-posts']);
  });

  it('match the method when the entry names one, and any method when it does not', () => {
    expect(names('GET', '/v1/announce')).toEqual([]);
    expect(names('post', '/v1/announce')).toEqual([]);
    expect(names('DELETE', '/federation/x')).toEqual(['federation']);
  });

  it('see through the spellings a lenient upstream reads as the same path', () => {
    for (const path of [
      '/Federation/v1/x',
      '//federation/v1/x',
      '/%66ederation/v1/x',
      '/%2566ederation/x',
      '/v1/../federation/x',
      '/./federation/x',
      '/federation;v=1/x',
      '\\federation\\x',
      '/%20federation/x',
    ]) {
      expect({ path, rules: names('PUT', path) }).toEqual({ path, rules: ['federation'] });
    }
    // The readings the rules match against are the federation guard's own.
    expect(resolvedPaths('/A/./b//c/../d;x')).toEqual(new Set(['/a/b/d']));
    expect(resolvedPaths('/%zz')).toEqual(new Set(['/%zz']));
    expect(names('PUT', '/%46ederation%3bx/v1')).toEqual(['federation']);
  });

  it('answer the same empty list for no match, so the common case allocates nothing', () => {
    expect(matchRules(RULES, 'GET', '/v1/messages')).toBe(NO_RULES);
    expect(matchRules([], 'GET', '/federation/x')).toBe(NO_RULES);
  });

  it('build their RateLimit-Policy member once, the window in seconds', () => {
    expect(RULES.map((r) => r.policy)).toEqual(['"federation";q=1000;w=60', '"announce";q=240;w=3600', '"root-posts";q=5;w=1']);
    expect(policyMember('a', 7, 1500)).toBe('"a";q=7;w=2');
  });

  it('divide the fallback limit by the replicas, never below 1', () => {
    expect(RULES.map((r) => r.fallbackLimit)).toEqual([333, 80, 1]);
  });
});
