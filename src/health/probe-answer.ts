import type { ProbeVerdict } from './probe';

/** Longest upstream text (details, status) quoted in a reason. */
const QUOTE_LIMIT = 200;

/**
 * Classifies the body of a 2xx probe answer:
 * - not JSON (HTML, empty, truncated) → failure;
 * - JSON that is not an object, or an object without `status` → success (an upstream
 *   without `/v1/health` can be probed at `/.well-known/cryptid`);
 * - `status: "healthy"` → success; `"degraded"` → degraded with its `details`;
 * - `"unhealthy"`, any other value (`"unknown"`), a non-string → failure.
 */
export function classifyAnswer(body: string): ProbeVerdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { result: 'failure', reason: 'upstream health answer is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || !('status' in parsed)) return { result: 'success' };
  const { status } = parsed;
  const details = 'details' in parsed && typeof parsed.details === 'string' ? quote(parsed.details) : undefined;
  if (status === 'healthy') return { result: 'success' };
  if (status === 'degraded') return details === undefined || details === '' ? { result: 'degraded' } : { result: 'degraded', details };
  if (status === 'unhealthy') {
    return { result: 'failure', reason: details ? `upstream reports unhealthy: ${details}` : 'upstream reports unhealthy' };
  }
  if (typeof status === 'string') return { result: 'failure', reason: `upstream reports an unknown status "${quote(status)}"` };
  return { result: 'failure', reason: 'upstream health answer has a status that is not a string' };
}

/** Upstream text fit to quote in a reason: one line, printable, at most 200 characters. */
function quote(text: string): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length > QUOTE_LIMIT ? `${line.slice(0, QUOTE_LIMIT - 1)}…` : line;
}
