'use strict';
// The library-mode gateway target (gateway.js) with a count of V8's collections: answers
// `{type: 'gc-stats'}` with the scavenges, mark-compacts, their total and longest pauses
// since the last ask, for telling a latency tail caused by full collections from one that
// is not (bench/cpu-ab.js --gc).

const { constants } = require('node:perf_hooks');

const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
let stats;
const reset = () => (stats = { minor: 0, major: 0, incremental: 0, weakcb: 0, minorMs: 0, majorMs: 0, longestMs: 0 });
reset();
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = KINDS[e.detail?.kind ?? e.kind] ?? 'weakcb';
    stats[kind]++;
    if (kind === 'minor') stats.minorMs += e.duration;
    else stats.majorMs += e.duration;
    stats.longestMs = Math.max(stats.longestMs, e.duration);
  }
}).observe({ entryTypes: ['gc'] });
process.on('message', (msg) => {
  if (msg.type !== 'gc-stats') return;
  process.send({ type: 'gc-stats', ...stats, external: process.memoryUsage().external });
  reset();
});

require('./gateway');
