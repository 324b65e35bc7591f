'use strict';
// What the figures were measured on.

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function quiet(argv, cwd) {
  try {
    return execFileSync(argv[0], argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return '';
  }
}

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const root = path.join(__dirname, '..', '..');
  const commit = quiet(['git', 'rev-parse', '--short', 'HEAD'], root);
  const dirty = quiet(['git', 'status', '--porcelain', '--', 'src'], root) ? ' + uncommitted changes in src/' : '';
  return {
    cpu: model,
    cores: os.cpus().length,
    memory: `${Math.round(os.totalmem() / 1024 ** 3)} GiB`,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    wrk: `${spawnSync('wrk', ['-v']).stdout ?? ''}`.split('\n')[0].replace(/ \[.*/, '').trim() || 'wrk',
    httpProxy3: require('http-proxy-3/package.json').version,
    ws: require('ws/package.json').version,
    nginx: require('./nginx').nginxVersion() || 'not installed',
    commit: commit ? `${commit}${dirty}` : 'unknown',
  };
}

module.exports = { machine };
