import fc from 'fast-check';

/** `%XX` for one byte, upper- or lower-case hex. */
function pct(byte: number, upper: boolean): string {
  const hex = byte.toString(16).padStart(2, '0');
  return `%${upper ? hex.toUpperCase() : hex}`;
}

/** One ASCII character, written in any way an upstream decodes back to it (possibly case-changed). */
function spelling(ch: string): fc.Arbitrary<string> {
  const code = ch.charCodeAt(0);
  const fullwidth = String.fromCharCode(0xff00 + code - 0x20);
  return fc.oneof(
    fc.constantFrom(ch.toLowerCase(), ch.toUpperCase()),
    fc.boolean().map((upper) => pct(code, upper)),
    fc.boolean().map((upper) => `%25${pct(code, upper).slice(1)}`),
    fc.constant(Buffer.from(fullwidth, 'utf8').toString('latin1')),
    fc.boolean().map((upper) => [...Buffer.from(fullwidth, 'utf8')].map((b) => pct(b, upper)).join('')),
  );
}

/** Path segments that are never a dot segment and never the guarded word: what follows the first segment. */
export const plainSegments = fc.array(fc.stringMatching(/^[a-zA-Z0-9_~-]{0,8}$/), { maxLength: 4 });

/**
 * A path whose first segment an upstream may read as `word`: every letter spelt in some
 * encoding, wrapped in whitespace or followed by `;parameters`, behind extra slashes, `.`
 * segments, a `..` that climbs back, or a backslash. Only the wire form: the request target
 * as its bytes would arrive, as a Latin-1 string (the way node:http hands it over).
 */
export function pathReadAs(word: string): fc.Arbitrary<string> {
  const first = fc
    .tuple(
      fc.tuple(...[...word].map(spelling)).map((letters) => letters.join('')),
      fc.constantFrom('', '%20', '+', '%20%20', '%C2%A0'),
      fc.constantFrom('', '%20', '+'),
      fc.constantFrom('', ';', ';jsessionid=1', ';a=b;c', '%3bx'),
    )
    .map(([core, before, after, params]) => `${before}${core}${after}${params}`);
  const lead = fc.constantFrom('/', '//', '/./', '/x/../', '\\', '/%2e/', '/x/%2e%2e/', '/x/..;/', '/%2F');
  return fc.tuple(lead, first, plainSegments).map(([l, f, rest]) => `${l}${f}${rest.map((s) => `/${s}`).join('')}`);
}

/** An ASCII first segment other than `word`, then plain segments: paths the guard must let through. */
export function pathNotReadAs(word: string): fc.Arbitrary<string> {
  const first = fc.stringMatching(/^[a-zA-Z0-9_~-]{1,12}$/).filter((s) => s.toLowerCase() !== word);
  return fc.tuple(first, plainSegments).map(([f, rest]) => `/${f}${rest.map((s) => `/${s}`).join('')}`);
}

/** A control character (C0, DEL, or C1 as UTF-8), written raw, percent-encoded or double-encoded. */
export const controlCharacter = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.constant(0x7f), fc.integer({ min: 0x80, max: 0x9f })).chain((code) => {
  const bytes = [...Buffer.from(String.fromCharCode(code), 'utf8')];
  return fc.oneof(
    fc.constant(Buffer.from(bytes).toString('latin1')),
    fc.boolean().map((upper) => bytes.map((b) => pct(b, upper)).join('')),
    fc.boolean().map((upper) => bytes.map((b) => `%25${pct(b, upper).slice(1)}`).join('')),
  );
});
