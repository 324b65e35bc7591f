import { configuredDocumentSchema, documentNearMisses, type DocumentOverrides, type DocumentTemplate } from '../protocol/document';
import { DOCUMENT_BODY_LIMIT, type FetchOutcome } from './fetch-document';
import { safeParse } from '../validation/parse';

/** The upstream's answer read: the document to publish, or every reason it cannot be. */
export type ReadAnswer = { readonly ok: true; readonly template: DocumentTemplate } | { readonly ok: false; readonly problems: readonly string[] };

/** Longest value quoted in a problem. */
const QUOTE_LIMIT = 80;

/**
 * Reads an answer of the upstream as the document to publish. Only a 200 with a JSON object
 * will do. The upstream's own `certificate_fingerprint` is dropped (the gateway serves the
 * certificate, and writes its own), the overrides are laid over the rest (the two limit
 * objects field by field), and the result is validated like a configured document: the same
 * field rules, the same defaults, and a near miss of a protocol field (`federation_enable`) is
 * refused rather than published as an extra field. Pure.
 */
export function readUpstreamAnswer(outcome: Exclude<FetchOutcome, { kind: 'unreachable' }>, overrides: DocumentOverrides): ReadAnswer {
  if (outcome.kind === 'oversized') return fail(`answer larger than ${DOCUMENT_BODY_LIMIT / 1024} KiB`);
  if (outcome.status !== 200) return fail(`upstream answered ${outcome.status}, not 200`);
  let raw: unknown;
  try {
    raw = JSON.parse(outcome.body);
  } catch {
    return fail('answer is not JSON');
  }
  if (!isPlainObject(raw)) return fail('answer is not a JSON object');
  const problems = documentNearMisses(raw).map(
    (miss) => `${miss.path.join('.')}: not a protocol field: did you mean "${miss.resembles}"? (published as is, it would leave the default of "${miss.resembles}" in force)`,
  );
  const { certificate_fingerprint: _upstreams, ...rest } = raw;
  const merged = withOverrides(rest, overrides);
  const parsed = safeParse(configuredDocumentSchema, merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.length === 0 ? '(document)' : issue.path.map(String).join('.');
      problems.push(`${path}: ${issue.message} (${describe(valueAt(merged, issue.path))})`);
    }
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, template: parsed.data as DocumentTemplate };
}

/** The overrides laid over the upstream's fields: a limit object merged field by field, anything else replaced. */
function withOverrides(upstream: Record<string, unknown>, overrides: DocumentOverrides): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...upstream };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const theirs = upstream[key];
    // A limit object the upstream got wrong stays wrong: the overrides must not hide it behind defaults.
    merged[key] =
      (key === 'rate_limits' || key === 'message_limits') && isPlainObject(value) && theirs !== undefined ? (isPlainObject(theirs) ? { ...theirs, ...value } : theirs) : value;
  }
  return merged;
}

function fail(problem: string): ReadAnswer {
  return { ok: false, problems: [problem] };
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let node = value;
  for (const key of path) node = isPlainObject(node) || Array.isArray(node) ? (node as Record<PropertyKey, unknown>)[key] : undefined;
  return node;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (isPlainObject(value)) return 'got an object';
  const text = JSON.stringify(value) ?? String(value);
  return `got ${text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT - 3)}...` : text}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
