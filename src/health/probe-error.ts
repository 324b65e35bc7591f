import { classifyNetworkError, describeNetworkFailure } from '../net/failure';

/**
 * A reason for a probe that got no answer, from the error's code only: Node's messages
 * name the address (`connect ECONNREFUSED 10.0.0.5:8008`), which must not leak.
 */
export function describeError(err: unknown): string {
  const failure = classifyNetworkError(err);
  return describeNetworkFailure(failure, 'upstream') ?? (failure.code === undefined ? 'probe failed' : `probe failed (${failure.code})`);
}
