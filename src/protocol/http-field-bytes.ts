/**
 * The bytes an HTTP field name and field value may have (RFC 9110 §5.1 token, §5.5
 * field-vchar and whitespace), checked a byte at a time against a table. Every proxied
 * request has its header names and values checked on both sides, and the table is cheaper
 * than a regular expression call per field (bench/README.md: instructions per small GET).
 * Strings are read as latin1, one byte per char, as Node's HTTP parser hands them over.
 */

const TOKEN_PUNCTUATION = "!#$%&'*+-.^_`|~";

const TOKEN_BYTES = byteTable(
  (byte) => (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || TOKEN_PUNCTUATION.includes(String.fromCharCode(byte)),
);

/** Tab, visible ASCII and space, and obs-text (0x80–0xff): what node:http's `validateHeaderValue` lets through. */
const VALUE_BYTES = byteTable((byte) => byte === 0x09 || (byte >= 0x20 && byte <= 0x7e) || byte >= 0x80);

/** A char code of a token (a field name, a method). */
export function isTokenByte(code: number): boolean {
  return TOKEN_BYTES[code] === 1;
}

/** A char code a field value may have. */
export function isValueByte(code: number): boolean {
  return VALUE_BYTES[code] === 1;
}

/** `text` is a token: one or more token bytes. */
export function isToken(text: string): boolean {
  const length = text.length;
  if (length === 0) return false;
  for (let i = 0; i < length; i++) if (TOKEN_BYTES[text.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Every byte of `text` from `from` (to `to`) may be in a field value; an empty value may. */
export function isFieldValue(text: string, from = 0, to = text.length): boolean {
  for (let i = from; i < to; i++) if (VALUE_BYTES[text.charCodeAt(i)] !== 1) return false;
  return true;
}

function byteTable(allowed: (byte: number) => boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let byte = 0; byte < 256; byte++) table[byte] = allowed(byte) ? 1 : 0;
  return table;
}
