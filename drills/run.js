#!/usr/bin/env node
'use strict';
// `npm run drills`: the fault drills of issue 7 at full size. Each starts a real gateway
// (the built package in dist/, or DRILL_DIST) against a real upstream on loopback, runs
// bounded load, prints every check it made with the figures it measured, and stops
// everything it started. Exit 1 when a check failed. The drill logic lives in
// test/drills/lib/ (TypeScript, compiled on load like the tests), shared with the short
// versions that `npm run test:drills` runs.

const path = require('node:path');
const { parseArgs } = require('node:util');

require(path.join(__dirname, '..', 'test', 'helpers', 'ts-register.js'));
const { DRILLS, failures } = require('../test/drills/lib/index.ts');

const USAGE = `usage: node drills/run.js [--short] [--only ID,ID]
  --short      the short sizes that npm run test:drills runs
  --only LIST  comma-separated drills: ${DRILLS.map((d) => d.id).join(', ')}
  -h, --help`;

/** No drill may run longer than this; the process exits (killing its children) if one does. */
const DRILL_LIMIT_MS = 10 * 60 * 1000;

async function main() {
  const { values } = parseArgs({
    options: {
      short: { type: 'boolean', default: false },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const size = values.short ? 'short' : 'full';
  const only = values.only ? values.only.split(',') : undefined;
  const unknown = (only ?? []).filter((id) => !DRILLS.some((d) => d.id === id));
  if (unknown.length > 0) {
    process.stderr.write(`unknown drill: ${unknown.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const selected = DRILLS.filter((d) => !only || only.includes(d.id));
  const log = (line) => process.stdout.write(`${line}\n`);
  log(`cryptid-gateway fault drills (${size}) — node ${process.version}, ${require('node:os').cpus().length} cores`);
  const summary = [];
  for (const drill of selected) {
    log(`\n## ${drill.title} (${drill.id})`);
    const limit = setTimeout(() => {
      log(`FAIL ${drill.id}: still running after ${DRILL_LIMIT_MS / 60000} minutes; stopping`);
      process.exit(1);
    }, DRILL_LIMIT_MS);
    let report;
    try {
      report = await drill.run(size, log);
    } catch (err) {
      log(`  FAIL the drill could not run: ${err && err.stack ? err.stack : err}`);
      summary.push({ drill, failed: ['could not run'], seconds: 0, figures: {} });
      continue;
    } finally {
      clearTimeout(limit);
    }
    const failed = failures(report);
    summary.push({ drill, failed, seconds: report.durationMs / 1000, figures: report.figures });
    log(`  → ${failed.length === 0 ? 'passed' : `${failed.length} failed`} in ${(report.durationMs / 1000).toFixed(1)} s`);
  }
  log('\n## Summary\n');
  log('| drill | result | time | figures |');
  log('| --- | --- | --- | --- |');
  for (const { drill, failed, seconds, figures } of summary) {
    const shown = Object.entries(figures)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    log(`| ${drill.title} | ${failed.length === 0 ? 'passed' : `FAILED (${failed.length})`} | ${seconds.toFixed(0)} s | ${shown} |`);
  }
  return summary.some((s) => s.failed.length > 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
