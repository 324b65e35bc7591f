import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { FailureKind } from '../http/error-status';
import type { Rejection } from './observer';
import { hasControlCharacter } from './path-canonical';

/** How the gateway answers a request it will not forward. */
export interface Refusal {
  readonly kind: FailureKind;
  readonly reason: Rejection;
  /** Extra headers on the answer. */
  readonly headers?: OutgoingHttpHeaders;
}

/** A malformed request ends its connection: what else the client sent on it is not trusted either. */
const CLOSE: OutgoingHttpHeaders = Object.freeze({ connection: 'close' });

const BAD_TARGET: Refusal = Object.freeze({ kind: 'badTarget', reason: 'badRequest', headers: CLOSE });

/**
 * The checks a request passes before anything of it is forwarded, HTTP and WebSocket
 * alike: what the upstream would receive must be exactly what the client sent, read the
 * same way on both sides. Undefined when the request may go on. Pure.
 *
 * @param path the request path without the query, as received
 */
export function requestRefusal(_req: IncomingMessage, path: string): Refusal | undefined {
  if (hasControlCharacter(path)) return BAD_TARGET;
  return undefined;
}
