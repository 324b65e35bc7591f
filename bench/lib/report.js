'use strict';
// The results as Markdown: one throughput table, the idle-tunnel table, the checks against
// issue 7's targets and the gateway's CPU profile. Printed to stdout and written to
// bench/results/<date>.md.

const { int, fixed, ms, bytes } = require('./stats');

const row = (cells) => `| ${cells.join(' | ')} |`;
const table = (head, rows) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');

function ratioCell(t, key, otherId) {
  if (t[key] === undefined || !Number.isFinite(t[key])) return t.ref === t.id && key === 'ratio' ? 'baseline' : '';
  return `${fixed(t[key])}×${otherId ? ` ${otherId}` : ''}`;
}

function throughputTable(results) {
  const rows = [];
  for (const s of results.filter((r) => r.targets)) {
    s.targets.forEach((t, i) => {
      const scenario = i === 0 ? `**${s.scenario}**` : '';
      if (t.failed && t.runs === 0) {
        rows.push([scenario, t.label, `failed: ${t.failed.replace(/\|/g, '/')}`, '', '', '', '', '', '', '', '']);
        return;
      }
      rows.push([
        scenario,
        t.label,
        int(t.rps),
        `${int(t.rpsMin)}–${int(t.rpsMax)}`,
        ratioCell(t, 'ratio', t.ref !== t.id ? t.ref : ''),
        ratioCell(t, 'ratioEngine', ''),
        ms(t.p50Ms),
        ms(t.p99Ms),
        fixed(t.cpuUs, 0),
        Number.isFinite(t.upstreamCpuUs) ? fixed(t.upstreamCpuUs, 0) : '',
        t.failed ? `${t.errors} (+ failed run: ${t.failed.replace(/\|/g, '/').slice(0, 80)})` : String(t.errors),
      ]);
    });
  }
  return table(
    [
      'scenario',
      'target',
      'req/s (median)',
      'spread (min–max)',
      '× baseline (same round)',
      '× http-proxy-3',
      'p50 ms',
      'p99 ms',
      'CPU µs/req',
      'upstream CPU µs/req',
      'errors',
    ],
    rows,
  );
}

function idleTable(result) {
  const rows = result.idle.map((r) =>
    r.failedRun
      ? [r.label, `failed: ${r.failedRun.replace(/\|/g, '/')}`, '', '', '', '', '', '', '']
      : [
          r.label,
          `${int(r.opened)} / ${int(r.requested)}${r.failed ? ` (${int(r.failed)} failed${r.firstError ? `: ${r.firstError}` : ''})` : ''}`,
          `${(r.openMs / 1000).toFixed(1)} s`,
          `${bytes(r.rssBefore)} → ${bytes(r.rssHeld)}`,
          bytes(r.rssPerTunnel),
          bytes(r.heapPerTunnel),
          `${int(r.socketsBefore)} → ${int(r.socketsHeld)} → ${int(r.socketsAfter)}`,
          `${int(r.upstreamSocketsBefore)} → ${int(r.upstreamSocketsAfter)}`,
          r.allGone
            ? `yes, ${(r.drainMs / 1000).toFixed(1)} s after the clients closed (${(r.closeMs / 1000).toFixed(1)} s)`
            : `**no**: still open after ${(r.drainMs / 1000).toFixed(0)} s`,
        ],
  );
  return table(
    [
      'proxy',
      'tunnels open',
      'open time',
      'RSS before → held (after GC)',
      'RSS / tunnel',
      'heap / tunnel',
      'proxy sockets before → held → after',
      'upstream sockets before → after',
      'all sockets gone',
    ],
    rows,
  );
}

/** Issue 7's targets, each with what was measured and whether it is met. */
function checks(results) {
  const find = (scenarioStart, id) => results.find((r) => r.targets && r.scenario.startsWith(scenarioStart))?.targets.find((t) => t.id === id && t.runs > 0);
  const out = [];
  const verdict = (met) => (typeof met === 'string' ? met : met === null ? 'no target' : met === undefined ? 'not measured' : met ? 'met' : '**not met**');
  const add = (target, measured, met) => out.push([target, measured, verdict(met)]);
  const gw = find('small GET', 'gateway');
  const hp = find('small GET', 'http-proxy-3');
  if (gw && hp) {
    add('proxied small GET ≥ 1.3 × bare http-proxy-3 req/s', `${fixed(gw.ratioEngine)}× (${int(gw.rps)} vs ${int(hp.rps)} req/s)`, gw.ratioEngine >= 1.3);
    add('… with p99 no worse than http-proxy-3’s', `${ms(gw.p99Ms)} ms vs ${ms(hp.p99Ms)} ms`, gw.p99Ms <= hp.p99Ms);
    const r = gw.cpuUs / hp.cpuUs;
    add('gateway CPU per small GET ≤ 0.75 × http-proxy-3’s', `${fixed(r)}× (${fixed(gw.cpuUs, 0)} vs ${fixed(hp.cpuUs, 0)} µs)`, r <= 0.75);
  } else if (results.some((r) => r.scenario?.startsWith('small GET'))) add('proxied small GET vs http-proxy-3', 'a target failed', false);
  for (const [id, store, goal] of [
    ['gateway-limit-memory', 'memory', 5],
    ['gateway-limit-redis', 'Redis', 30],
  ]) {
    const limited = find('small GET', id);
    if (!limited || !gw) continue;
    const added = limited.cpuAbove('gateway');
    const redisCpu = Number.isFinite(limited.extraCpuUs) ? `; redis-server itself ${fixed(limited.extraCpuUs, 1)} µs/req` : '';
    add(
      `a matched rate-limit rule, ${store} store: ≤ +${goal} µs CPU per small GET`,
      `${added < 0 ? '−' : '+'}${fixed(Math.abs(added), 1)} µs (${fixed(limited.cpuUs, 0)} vs ${fixed(gw.cpuUs, 0)} µs, median of same-round differences); p99 ${ms(limited.p99Ms)} vs ${ms(gw.p99Ms)} ms; ${fixed(limited.rps / gw.rps)}× the req/s${redisCpu}`,
      added <= goal,
    );
  }
  const post = find('64 KiB POST', 'gateway');
  const postEngine = find('64 KiB POST', 'http-proxy-3');
  if (post && postEngine) {
    const measured = `${fixed(post.ratioEngine)}× req/s; p99 ${ms(post.p99Ms)} vs ${ms(postEngine.p99Ms)} ms; CPU ${fixed(post.cpuUs, 0)} vs ${fixed(postEngine.cpuUs, 0)} µs`;
    add('64 KiB POST, gateway vs http-proxy-3', measured, null);
  }
  const dh = find('discovery', 'gateway');
  if (dh) add('discovery over HTTP ≥ 0.9 × bare node:http', `${fixed(dh.ratio)}×`, dh.ratio >= 0.9);
  const ds = find('discovery', 'serve');
  if (ds) add('discovery over HTTPS (serve) ≥ 0.9 × bare node:https', `${fixed(ds.ratio)}×`, ds.ratio >= 0.9);
  const ws = find('WebSocket echo', 'gateway');
  if (ws) add('WebSocket round trips ≥ 0.9 × the bare engine’s', `${fixed(ws.ratioEngine)}× (${fixed(ws.ratio)}× the upstream directly)`, ws.ratioEngine >= 0.9);
  const idleRun = results.find((r) => r.idle);
  const idle = idleRun?.idle.find((r) => r.id === 'gateway' && !r.failedRun);
  if (idle) {
    // The target is per tunnel over 10,000; a smaller run (--quick, --tunnels) is a smoke test
    // whose per-tunnel figure still carries the heap's step-wise growth. A run the machine
    // capped below 10,000 (open-files limit) is judged, and its note says why.
    const measured = `${bytes(idle.rssPerTunnel)} over ${int(idle.opened)} tunnels`;
    if (idleRun.asked < 10000) add('≤ 20 KiB RSS per idle tunnel', `${measured} (the target is for 10,000; this run asked for ${int(idleRun.asked)})`, 'not judged');
    else add('≤ 20 KiB RSS per idle tunnel', measured, idle.rssPerTunnel <= 20 * 1024);
    add(
      'all sockets gone after the tunnels close',
      idle.allGone ? `yes (${idle.socketsAfter} sockets, as before)` : `${idle.socketsAfter} sockets vs ${idle.socketsBefore} before`,
      idle.allGone,
    );
  }
  add('RSS after a 1,000,000-request soak within 10 % of RSS after 100,000', 'belongs to the soak drill (`npm run drills`)', undefined);
  return table(['target (issue 7)', 'measured', ''], out);
}

function profileSection({ gateway: g, engine: e }) {
  const perReq = (ms, p) => (ms * 1000) / p.requests;
  const us = (x) => (Number.isFinite(x) ? x.toFixed(1) : '');
  const originNames = [...new Set([...g.origins.map((o) => o.name), ...(e ? e.origins.map((o) => o.name) : [])])];
  const originMs = (p, name) => p?.origins.find((o) => o.name === name)?.ms ?? 0;
  const origins = table(
    ['origin', 'gateway µs/req', 'bare http-proxy-3 µs/req'],
    [
      ...originNames
        .map((name) => [name, perReq(originMs(g, name), g), e ? perReq(originMs(e, name), e) : NaN])
        .filter(([, a, b]) => a >= 0.05 || b >= 0.05)
        .map(([name, a, b]) => [name, us(a), us(b)]),
      ['**total busy**', `**${us(perReq(g.busyMs, g))}**`, e ? `**${us(perReq(e.busyMs, e))}**` : ''],
    ],
  );
  const engineFn = (name) => e?.functions.find((f) => f.name === name);
  const fns = table(
    ['gateway µs/req', 'share', 'bare http-proxy-3 µs/req', 'function (file:line)'],
    g.functions.map((f) => [us(perReq(f.ms, g)), `${fixed(f.share * 100, 1)} %`, engineFn(f.name) ? us(perReq(engineFn(f.name).ms, e)) : '', `\`${f.name.trim()}\``]),
  );
  const line = (p, label) =>
    `${label}: ${int(p.rps)} req/s under the profiler; ${int(p.requests)} requests profiled (warm-up and run), ${fixed(p.busyMs / 1000, 1)} s busy, ${fixed(p.idleMs / 1000, 1)} s idle.`;
  return [
    'Each proxy alone under `node --cpu-prof` (1 ms sampling) for a small-GET warm-up and run; self time per request answered. "(native)" is mostly the system calls of socket reads and writes (on loopback a write also runs the receiver\'s TCP path).',
    '',
    `- ${line(g, 'gateway')}`,
    e ? `- ${line(e, 'bare http-proxy-3')}` : '',
    '',
    origins,
    '',
    "Top self-time functions of the gateway (the bare engine's figure for the same function where it appears in its own top list):",
    '',
    fns,
  ].join('\n');
}

function render({ machine, command, method, results, warnings }) {
  const parts = [];
  parts.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory} RAM, ${machine.kernel}; Node ${machine.node}; ${machine.wrk}; http-proxy-3 ${machine.httpProxy3}; ws ${machine.ws}; gateway at ${machine.commit}.`,
  );
  parts.push('');
  parts.push(`Command: \`${command}\``);
  parts.push('');
  parts.push(method);
  parts.push('');
  if (results.some((r) => r.targets)) parts.push(throughputTable(results), '');
  const idle = results.find((r) => r.idle);
  if (idle) {
    parts.push('### Idle WebSocket tunnels', '');
    if (idle.note) parts.push(idle.note, '');
    parts.push(idleTable(idle), '');
  }
  parts.push('### Against the targets of issue 7', '', checks(results), '');
  const profile = results.find((r) => r.scenario === 'profile' && r.gateway);
  if (profile) parts.push('### Where the gateway’s CPU goes (small GET)', '', profileSection(profile), '');
  if (warnings.length) parts.push('### Warnings', '', ...warnings.map((w) => `- ${w}`), '');
  return parts.join('\n');
}

module.exports = { render };
