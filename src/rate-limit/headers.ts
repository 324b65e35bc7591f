import type { CompiledRule } from './rules';
import type { Decision } from './sliding-window';

/** The rules a request matched and what each decided, in rule order. */
export interface RuleDecision {
  readonly rule: CompiledRule;
  readonly decision: Decision;
}

/**
 * `RateLimit-Policy` and `RateLimit` for an answer on a limited route
 * (draft-ietf-httpapi-ratelimit-headers-10 §3, §4): one list member per matched rule, e.g.
 * `"federation";q=1000;w=60` and `"federation";r=999;t=42`. `r` is what is left, `t` the seconds
 * until the current window ends, or, once nothing is left, until a request is admitted again.
 * Pure.
 */
export function rateLimitHeaders(decisions: readonly RuleDecision[]): { 'ratelimit-policy': string; ratelimit: string } {
  if (decisions.length === 1) {
    const { rule, decision } = decisions[0] as RuleDecision;
    return { 'ratelimit-policy': rule.policy, ratelimit: member(rule, decision) };
  }
  return {
    'ratelimit-policy': decisions.map((d) => d.rule.policy).join(', '),
    ratelimit: decisions.map((d) => member(d.rule, d.decision)).join(', '),
  };
}

function member(rule: CompiledRule, decision: Decision): string {
  return `"${rule.name}";r=${decision.remaining};t=${decision.resetSeconds}`;
}
