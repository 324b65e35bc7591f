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

/** `NAME=VALUE` assignments as an object (name → value); throws on one that is not, naming `source`. */
function assignments(list, source) {
  return Object.fromEntries(
    list.map((entry) => {
      const eq = entry.indexOf('=');
      if (eq < 1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(entry.slice(0, eq))) throw new Error(`${source}: ${entry} is not NAME=VALUE`);
      return [entry.slice(0, eq), entry.slice(eq + 1)];
    }),
  );
}

/** The environment variables (name → value) the gateway's own launchers run `node` with. */
function nodeEnv() {
  return assignments(lines('node-env.txt'), 'scripts/node-env.txt');
}

module.exports = { nodeFlags, nodeEnv, assignments };

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
