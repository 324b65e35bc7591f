/**
 * A server-supplied string made safe to put in a message or on a terminal: control
 * characters (C0, DEL, C1 — the latter include CSI, which JSON.stringify leaves alone)
 * escaped and length capped, so a hostile server cannot rewrite the user's screen or
 * flood a log line.
 */
export function printable(value: string, maxLength = 120): string {
  // eslint-disable-next-line no-control-regex
  const escaped = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > maxLength ? `${escaped.slice(0, maxLength)}…` : escaped;
}

/** `printable()` for any value, e.g. a `server_name` that turned out not to be a string. */
export function printableValue(value: unknown, maxLength = 120): string {
  if (typeof value === 'string') return `"${printable(value, maxLength)}"`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return printable(text, maxLength);
}
