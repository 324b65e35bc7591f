/**
 * Near misses of known field names: a typo in a published document must not pass as an
 * extra field, or `federation_enable: false` would leave federation on and its guard off.
 */

/** The largest edit distance that counts as a near miss. */
export const NEAR_MISS_DISTANCE = 2;

/**
 * The optimal string alignment distance of `a` and `b` (insertions, deletions,
 * substitutions and transpositions of neighbours each cost 1), or `limit + 1` as soon as
 * it is known to exceed `limit`. Pure.
 */
export function editDistance(a: string, b: string, limit = NEAR_MISS_DISTANCE): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  // Three rows suffice: the transposition step looks two rows back.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        d = Math.min(d, before[j - 2]! + 1);
      }
      current[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > limit) return limit + 1;
    [before, previous, current] = [previous, current, before];
  }
  return Math.min(previous[b.length]!, limit + 1);
}

/**
 * The known field `key` looks like a misspelling of (edit distance 1–2, letter case
 * ignored), or undefined when it is a known field itself or resembles none. Pure.
 */
export function nearMissOf(key: string, known: readonly string[]): string | undefined {
  if (known.includes(key)) return undefined;
  const folded = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = NEAR_MISS_DISTANCE + 1;
  for (const field of known) {
    const d = editDistance(folded, field.toLowerCase());
    if (d < bestDistance) {
      best = field;
      bestDistance = d;
    }
  }
  return best;
}
