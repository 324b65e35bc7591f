'use strict';
// Small statistics and number formatting for the tables.

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const min = (values) => Math.min(...values);
const max = (values) => Math.max(...values);

/** 12345.6 → "12,346"; NaN → "–". */
function int(x) {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–';
}

function fixed(x, digits = 2) {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

/** Milliseconds with a precision that suits their size. */
function ms(x) {
  if (!Number.isFinite(x)) return '–';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function bytes(x) {
  if (!Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 1024 * 1024) return `${(x / 1024 / 1024).toFixed(1)} MiB`;
  return `${(x / 1024).toFixed(1)} KiB`;
}

module.exports = { median, min, max, int, fixed, ms, bytes };
