import { retryAfterSeconds } from './cache-control';
import { DiscoveryError } from './errors';
import type { HttpsAnswer } from './https-get';

/**
 * The error for an answer that carries no usable body, by status (server-discovery page,
 * "Error Responses"): 404/410 and other refusals say the endpoint is not there;
 * 429 and 5xx say the server is there but not serving now, a transient condition.
 */
export function errorForStatus(domain: string, answer: HttpsAnswer, what: string, nowMs: number): DiscoveryError {
  const { status } = answer;
  if (status === 429 || status >= 500) {
    const retryAfter = retryAfterSeconds(headerValue(answer.headers['retry-after']), nowMs);
    return new DiscoveryError('SERVER_UNAVAILABLE', `${domain}: ${what} temporarily unavailable (HTTP ${status})`, {
      domain,
      status,
      ...(retryAfter !== undefined && { retryAfterSeconds: retryAfter }),
    });
  }
  if (status >= 400) {
    return new DiscoveryError('ENDPOINT_NOT_FOUND', `${domain}: no ${what} (HTTP ${status}); the server does not support Cryptid or has it disabled`, {
      domain,
      status,
    });
  }
  return new DiscoveryError('INVALID_DOCUMENT', `${domain}: unexpected HTTP ${status} for the ${what}`, { domain, status });
}

/** The first value of a header that may repeat. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The body as JSON, or `INVALID_DOCUMENT`. Invalid UTF-8 is refused rather than replaced:
 * a document whose bytes were mangled is not the document the server meant.
 */
export function parseJsonBody(domain: string, answer: HttpsAnswer, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(answer.body));
  } catch (error) {
    throw new DiscoveryError('INVALID_DOCUMENT', `${domain}: the ${what} is not JSON`, { domain, status: answer.status, cause: error });
  }
}
