'use strict';
// The flags of scripts/node-flags.txt as a list: one per line, `#` comments and blank lines dropped.
// `node scripts/node-flags.js --entrypoint MAIN` prints the image's entrypoint as JSON.

const fs = require('node:fs');
const path = require('node:path');

/** The Node/V8 flags the gateway's own launchers run `node` with. */
function nodeFlags() {
  return fs
    .readFileSync(path.join(__dirname, 'node-flags.txt'), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

module.exports = { nodeFlags };

if (require.main === module) {
  const [option, main] = process.argv.slice(2);
  if (option === '--entrypoint' && main) process.stdout.write(JSON.stringify(['/usr/local/bin/node', ...nodeFlags(), main]));
  else process.stdout.write(`${nodeFlags().join('\n')}\n`);
}
