import type { ResolvedRateLimitRule } from '../../../src/config/options';
import { rateLimitHeaders } from '../../../src/rate-limit/headers';
import { compileRules } from '../../../src/rate-limit/rules';

const rules = compileRules(
  [
    { name: 'federation', match: [{ method: undefined, prefix: '/federation/' }], key: 'ip', limit: 1000, windowMs: 60_000 },
    { name: 'sends', match: [{ method: 'POST', prefix: '/v1/messages' }], key: 'bearer', limit: 60, windowMs: 60_000 },
  ] satisfies ResolvedRateLimitRule[],
  1,
);

describe('RateLimit-Policy and RateLimit headers', () => {
  it('are structured-field lists with one member per matched rule (draft-ietf-httpapi-ratelimit-headers)', () => {
    expect(rateLimitHeaders([{ rule: rules[0]!, decision: { allowed: true, remaining: 999, resetSeconds: 42 } }])).toEqual({
      'ratelimit-policy': '"federation";q=1000;w=60',
      ratelimit: '"federation";r=999;t=42',
    });
    expect(
      rateLimitHeaders([
        { rule: rules[0]!, decision: { allowed: true, remaining: 5, resetSeconds: 1 } },
        { rule: rules[1]!, decision: { allowed: false, remaining: 0, resetSeconds: 17 } },
      ]),
    ).toEqual({
      'ratelimit-policy': '"federation";q=1000;w=60, "sends";q=60;w=60',
      ratelimit: '"federation";r=5;t=1, "sends";r=0;t=17',
    });
  });
});
