'use strict';
// Reads a V8 .cpuprofile (node --cpu-prof) and lists where the self time went: by function
// and by origin (the gateway's dist/, http-proxy-3, other packages, Node internals, GC).

const fs = require('node:fs');
const path = require('node:path');

function origin(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.includes('/node_modules/'))
    return url
      .slice(url.lastIndexOf('/node_modules/') + 14)
      .split('/')
      .slice(0, 1)
      .join('/');
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/bench/')) return 'bench target';
  return 'gateway (dist)';
}

function shortUrl(url) {
  if (!url) return '';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) return url.slice(nm + 14);
  const d = url.lastIndexOf('/dist/');
  if (d !== -1) return url.slice(d + 1);
  return path.basename(url);
}

/** Top self-time functions and the share per origin. */
function summarize(file, top = 20) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const functions = new Map();
  const origins = new Map();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const name = functionName || '(anonymous)';
    const key = `${name} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    const o = origin(url, name);
    origins.set(o, (origins.get(o) ?? 0) + us);
  }
  const idle = functions.get('(idle) ') ?? 0;
  const busy = total - idle;
  const rank = (map) =>
    [...map]
      .filter(([k]) => !k.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / busy }));
  return { busyMs: busy / 1000, idleMs: idle / 1000, functions: rank(functions).slice(0, top), origins: rank(origins) };
}

module.exports = { summarize };
