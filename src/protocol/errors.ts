/**
 * The protocol's error body and the numeric codes it defines (protocol reference §3):
 * `error` is the field to match on, `code` the 4-digit number where the protocol has
 * one, `retry_after` only on retryable errors.
 */

/** Every error body: `{"error": CODE, "message": text, "code": n, "retry_after": seconds}`. */
export interface ProtocolErrorBody {
  readonly error: string;
  /** For logs only; clients do not show it to end users. */
  readonly message: string;
  readonly code?: number;
  /** Seconds; present only on retryable errors. */
  readonly retry_after?: number;
}

/** The numeric codes of the errors the gateway answers itself. */
export const PROTOCOL_CODES = {
  MESSAGE_TOO_LARGE: 4003,
  RATE_LIMIT_EXCEEDED: 4004,
} as const;
