'use strict';
// The flags of scripts/node-flags.txt as a list, and the environment of scripts/node-env.txt:
// one per line, `#` comments and blank lines dropped.
// `node scripts/node-flags.js --entrypoint MAIN` prints the image's entrypoint as JSON;
// `node scripts/node-flags.js --env` prints the environment, one NAME=VALUE per line.

const fs = require('node:fs');
const path = require('node:path');

function lines(file) {
  return fs
    .readFileSync(path.join(__dirname, file), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** The Node/V8 flags the gateway's own launchers run `node` with. */
function nodeFlags() {
  return lines('node-flags.txt');
}

/** The environment variables (name → value) the gateway's own launchers run `node` with. */
function nodeEnv() {
  return Object.fromEntries(lines('node-env.txt').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

module.exports = { nodeFlags, nodeEnv };

if (require.main === module) {
  const [option, main] = process.argv.slice(2);
  if (option === '--entrypoint' && main) process.stdout.write(JSON.stringify(['/usr/local/bin/node', ...nodeFlags(), main]));
  else if (option === '--env')
    process.stdout.write(
      Object.entries(nodeEnv())
        .map(([name, value]) => `${name}=${value}\n`)
        .join(''),
    );
  else process.stdout.write(`${nodeFlags().join('\n')}\n`);
}
