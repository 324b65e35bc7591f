#!/usr/bin/env bash
# `npm run check:package`: the package as a new user gets it. Packs a copy of the tracked
# files with no dist/ (as a fresh clone is, so `prepack` must build), checks what the
# tarball holds, lints it with publint and @arethetypeswrong/cli, installs it into a
# scratch project in a temp dir, and there loads both entry points with require and
# import, type-checks a consumer under moduleResolution node10, node16 and bundler, and
# runs the bin. Leaves nothing behind; exit 1 on the first failed check.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/node_modules/.bin"
work="$(mktemp -d "${TMPDIR:-/tmp}/cryptid-check-package.XXXXXX")"
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'check-package: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok   %s\n' "$*"; }

version="$(node -p "require('$root/package.json').version")"
tsc_version="$(node -p "require('$root/node_modules/typescript/package.json').version")"
types_node_version="$(node -p "require('$root/node_modules/@types/node/package.json').version")"

step "npm pack from a clean copy (no dist/: prepack has to build it)"
src="$work/src-copy"
mkdir "$src"
# Tracked and new files, not ignored ones: what a clone of this tree would hold.
(cd "$root" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done | tar -c --null -T - -f -) | tar -x -C "$src"
[ ! -e "$src/dist" ] || fail "the copy has a dist/ before packing"
ln -s "$root/node_modules" "$src/node_modules"
(cd "$src" && npm pack --pack-destination "$work" >"$work/pack.log" 2>&1) || { cat "$work/pack.log"; fail "npm pack"; }
tgz="$work/cryptid-gateway-$version.tgz"
[ -f "$tgz" ] || { cat "$work/pack.log"; fail "no $tgz"; }
ok "packed $(basename "$tgz") ($(du -k "$tgz" | cut -f1) KiB)"

step "tarball contents"
tar -tzf "$tgz" | sed 's|^package/||' | sort >"$work/files.txt"
for f in package.json LICENSE README.md CHANGELOG.md dist/index.js dist/index.d.ts dist/client/index.js dist/client/index.d.ts dist/cli/main.js dist/cryptid-gateway.js; do
  grep -qxF "$f" "$work/files.txt" || fail "tarball lacks $f"
done
ok "has package.json, LICENSE, README.md, CHANGELOG.md, dist/ entry points and the bin"
if grep -vE '^(package\.json|LICENSE|README\.md|CHANGELOG\.md|dist/.*|examples/.*)$' "$work/files.txt"; then
  fail "tarball ships the files above, outside dist/, examples/ and the top-level docs"
fi
# examples/prometheus/alerts.test.yml stays: the README has users run it with promtool.
if grep -E '(^|/)(test|__tests__)/|\.(test|spec)\.[cm]?[jt]sx?$|\.tsbuildinfo$|\.d\.ts\.map$|^src/' "$work/files.txt"; then
  fail "tarball ships test code, sources, build info or declaration maps (above)"
fi
ok "nothing but dist/, examples/ and the top-level docs; no test code, src/, .tsbuildinfo or declaration maps"
mkdir "$work/unpacked"
tar -xzf "$tgz" -C "$work/unpacked"
node - "$work/unpacked/package" <<'EOF' || fail "source maps"
// Every source a .js.map names must be embedded (sourcesContent) or exist in the package.
const fs = require('node:fs');
const path = require('node:path');
const pkg = process.argv[2];
let maps = 0;
const bad = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.map')) {
      maps++;
      const m = JSON.parse(fs.readFileSync(p, 'utf8'));
      m.sources.forEach((s, i) => {
        const embedded = Array.isArray(m.sourcesContent) && typeof m.sourcesContent[i] === 'string';
        if (!embedded && !fs.existsSync(path.resolve(path.dirname(p), m.sourceRoot ?? '', s))) bad.push(`${path.relative(pkg, p)} -> ${s}`);
      });
    }
  }
};
walk(path.join(pkg, 'dist'));
if (bad.length > 0) {
  console.error(`source maps naming files the package lacks:\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
console.log(`ok   ${maps} source maps, every source embedded or shipped`);
EOF

step "publint"
"$bin/publint" run --strict "$tgz" || fail "publint"

step "@arethetypeswrong/cli"
"$bin/attw" --no-definitely-typed --no-color --no-emoji --format table-flipped "$tgz" || fail "attw"

step "install the tarball into a scratch project"
app="$work/app"
mkdir "$app"
printf '{ "name": "scratch-consumer", "version": "1.0.0", "private": true }\n' >"$app/package.json"
(cd "$app" && npm install --no-audit --no-fund --prefer-offline --loglevel=error "$tgz" "typescript@$tsc_version" "@types/node@$types_node_version" >"$work/install.log" 2>&1) ||
  { cat "$work/install.log"; fail "npm install of the tarball"; }
[ ! -L "$app/node_modules/cryptid-gateway" ] || fail "cryptid-gateway installed as a link, not from the tarball"
ok "installed with typescript@$tsc_version and @types/node@$types_node_version"

step "CommonJS require and ESM import"
cd "$app"
node -e "
const a = require('cryptid-gateway'); const c = require('cryptid-gateway/client');
const want = [typeof a.createGateway, typeof a.startServer, typeof a.discover, typeof c.discover, typeof c.DiscoveryClient];
if (want.some((t) => t !== 'function')) { console.error(want); process.exit(1); }
" || fail "require"
ok "require('cryptid-gateway') and require('cryptid-gateway/client')"
cat >consumer.mjs <<'EOF'
import { createGateway, startServer, ConfigError } from 'cryptid-gateway';
import { discover, DiscoveryClient } from 'cryptid-gateway/client';
import gateway from 'cryptid-gateway';
const kinds = [createGateway, startServer, ConfigError, discover, DiscoveryClient, gateway.createGateway].map((f) => typeof f);
if (kinds.some((t) => t !== 'function')) throw new Error(`not functions: ${kinds}`);
EOF
node consumer.mjs || fail "import"
ok "import from 'cryptid-gateway' and 'cryptid-gateway/client' (consumer.mjs)"

step "TypeScript consumers: node10, node16, bundler"
mkdir ts
cat >ts/consumer.ts <<'EOF'
import { createGateway, ConfigError, type Gateway, type GatewayOptions, type StatusChange } from 'cryptid-gateway';
import { discover, DiscoveryClient, type DiscoveryResult, type DiscoveryDocument } from 'cryptid-gateway/client';

const options: GatewayOptions = { upstream: 'http://127.0.0.1:8008', discovery: { document: { server_name: 'chat.example.com' } } };
export function start(): Gateway {
  const gateway = createGateway(options);
  gateway.on('status', (change: StatusChange) => console.log(change.status));
  return gateway;
}
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}
export async function find(domain: string): Promise<DiscoveryDocument> {
  const result: DiscoveryResult = await discover(domain);
  return result.document;
}
export const clientClass: typeof DiscoveryClient = DiscoveryClient;
// @ts-expect-error: the options are typed, not any
createGateway({ upstream: 42 });
EOF
sed 's/^export const clientClass/export const clientClassEsm/' ts/consumer.ts >ts/consumer-esm.mts
write_tsconfig() { # name module moduleResolution files...
  local name="$1" module="$2" resolution="$3"
  shift 3
  local files
  files="$(printf '"%s",' "$@")"
  cat >"tsconfig.$name.json" <<EOF
{
  "compilerOptions": {
    "module": "$module", "moduleResolution": "$resolution", "target": "ES2022", "lib": ["ES2022"],
    "types": ["node"], "strict": true, "noEmit": true, "skipLibCheck": false, "esModuleInterop": true
  },
  "files": [${files%,}]
}
EOF
}
write_tsconfig node10 commonjs node10 ts/consumer.ts
write_tsconfig node16 node16 node16 ts/consumer.ts ts/consumer-esm.mts
write_tsconfig bundler esnext bundler ts/consumer.ts ts/consumer-esm.mts
for r in node10 node16 bundler; do
  ./node_modules/.bin/tsc -p "tsconfig.$r.json" --traceResolution >"$work/tsc-$r.log" ||
    { grep -E 'error TS' "$work/tsc-$r.log"; fail "tsc under moduleResolution $r"; }
  # The client entry must resolve to its own declarations, not fall back to any.
  grep -q "'cryptid-gateway/client' was successfully resolved to '.*/node_modules/cryptid-gateway/dist/client/index.d.ts'" "$work/tsc-$r.log" ||
    fail "under $r, cryptid-gateway/client does not resolve to dist/client/index.d.ts"
  ok "tsc --noEmit under moduleResolution $r (skipLibCheck off)"
done

step "the bin"
out="$(npx --no -- cryptid-gateway --version)" || fail "cryptid-gateway --version"
[ "$out" = "$version" ] || fail "--version printed '$out', expected '$version'"
ok "npx cryptid-gateway --version -> $out"
npx --no -- cryptid-gateway --help >"$work/help.txt" || fail "cryptid-gateway --help"
grep -q '^Usage: cryptid-gateway' "$work/help.txt" || fail "--help printed no usage"
ok "npx cryptid-gateway --help"
command -v openssl >/dev/null 2>&1 || fail "openssl is needed to make a certificate for the fingerprint check"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null || fail "openssl could not make a certificate"
got="$(npx --no -- cryptid-gateway fingerprint "$work/cert.pem")" || fail "cryptid-gateway fingerprint"
want="sha256:$(openssl x509 -in "$work/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)"
[ "$got" = "$want" ] || fail "fingerprint printed '$got', openssl says '$want'"
ok "npx cryptid-gateway fingerprint cert.pem -> $got"

printf '\ncheck-package: all checks passed\n'
