'use strict';
// Load from wrk (Debian's wrk 4). A generated Lua script sets the request (method, body,
// headers) and makes wrk print its summary as one JSON line.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { run } = require('./processes');

const REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationUs":%d,"bytes":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

/** Lua for one request shape; `body` is a length in bytes (the body is that many 'x'). */
function script({ method = 'GET', bodyBytes = 0, headers = {} }) {
  const lines = [`wrk.method = "${method}"`];
  if (bodyBytes > 0) lines.push(`wrk.body = string.rep("x", ${bodyBytes})`);
  for (const [name, value] of Object.entries(headers)) lines.push(`wrk.headers["${name}"] = "${value}"`);
  return `${lines.join('\n')}\n${REPORT}`;
}

let dir;
/** Writes the script once per shape into a temporary directory; returns its path. */
function scriptFile(request) {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'cryptid-bench-wrk-'));
  const text = script(request);
  const file = path.join(dir, `${Buffer.from(text).toString('base64url').slice(-24)}.lua`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, text);
  return file;
}

function cleanup() {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

/**
 * One wrk run against `url`: `connections` keep-alive connections for `seconds`.
 * Resolves with requests, requests/s, latency percentiles (ms) and error counts.
 */
async function wrk({ url, connections, seconds, threads = 1, core, request = {} }) {
  const argv = ['wrk', `-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', scriptFile(request), url];
  const out = await run(argv, { core, timeoutMs: (seconds + 20) * 1000 });
  const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const r = JSON.parse(line.slice('WRKJSON '.length));
  const errors = r.connectErrors + r.readErrors + r.writeErrors + r.statusErrors + r.timeouts;
  return {
    requests: r.requests,
    rps: r.requests / (r.durationUs / 1e6),
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    errors,
    errorDetail: r,
  };
}

module.exports = { wrk, cleanup };
