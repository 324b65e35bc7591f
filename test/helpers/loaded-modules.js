// Preloaded (`node --require`) into a child: when it exits, writes the files its require()
// loaded (require.cache, this file left out) as JSON to $LOADED_MODULES_FILE.
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  const files = Object.keys(require.cache).filter((file) => file !== __filename);
  writeFileSync(process.env.LOADED_MODULES_FILE, JSON.stringify(files));
});
