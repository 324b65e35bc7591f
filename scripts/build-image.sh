#!/usr/bin/env bash
# `npm run image`: builds the OCI image of cryptid-gateway with buildah, from scratch (no
# base image is pulled: everything is assembled on the host and copied in, no RUN step,
# no container runtime). The image holds:
#   /usr/local/bin/node                  the Node.js runtime (npm package node-linux-<arch>)
#   /lib*, /usr/lib*                     the shared libraries `ldd` lists for it, from the host
#   /app/node_modules/cryptid-gateway    the packed package (dist/ only) and its production deps
#   /etc/passwd, /etc/group              root and the user cryptid (10001:10001), which runs it
#   /etc/nsswitch.conf, /etc/hosts       so that `localhost` and DNS names resolve
# No CA bundle: Node verifies upstream TLS with its own built-in Mozilla roots; a private
# CA is added at run time with NODE_EXTRA_CA_CERTS.
#
# Output: the image `cryptid-gateway:<version>` in local containers-storage and an OCI
# archive, $IMAGE_OUT_DIR/cryptid-gateway-<version>.oci.tar (default build/image/).
# Environment:
#   IMAGE_OUT_DIR     where the archive goes (default: <repo>/build/image)
#   IMAGE_NAME        image name (default: cryptid-gateway), tagged with the package version
#   STORAGE_DRIVER    containers-storage driver; unset: overlay if it works here, else vfs
#   XDG_CACHE_HOME    the Node runtime is cached under ${XDG_CACHE_HOME:-~/.cache}/cryptid-gateway
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# The Node.js major in the image; its exact version is the pin in scripts/node-versions.txt.
NODE_MAJOR=24
UID_GID=10001

version="$(node -p "require('$root/package.json').version")"
name="${IMAGE_NAME:-cryptid-gateway}"
out="${IMAGE_OUT_DIR:-$root/build/image}"
archive="$out/$name-$version.oci.tar"

step() { printf "== [%ss] %s\n" "$SECONDS" "$*" >&2; }
fail() { printf 'build-image: FAIL: %s\n' "$*" >&2; exit 1; }

command -v buildah >/dev/null 2>&1 || fail "buildah is not on PATH (Debian: apt-get install -y buildah)"
case "$(uname -m)" in
  x86_64) node_arch=x64 ;;
  aarch64) node_arch=arm64 ;;
  *) fail "no Node.js npm package for $(uname -m)" ;;
esac

work="$(mktemp -d "${TMPDIR:-/tmp}/cryptid-image.XXXXXX")"
container=""
cleanup() {
  [ -z "$container" ] || buildah --storage-driver "$STORAGE_DRIVER" rm "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Storage options live here, not in system config: overlay where the kernel allows it
# (fast), vfs otherwise (works in any sandbox, copies whole layers).
if [ -z "${STORAGE_DRIVER:-}" ]; then
  if probe="$(buildah --storage-driver overlay from scratch 2>/dev/null)"; then
    buildah --storage-driver overlay rm "$probe" >/dev/null
    export STORAGE_DRIVER=overlay
  else
    export STORAGE_DRIVER=vfs
  fi
fi
step "containers-storage driver: $STORAGE_DRIVER"
# Passed on every call: buildah 1.28 reads no STORAGE_DRIVER from the environment.
bh() { buildah --storage-driver "$STORAGE_DRIVER" "$@"; }

# --- the Node.js runtime, cached -------------------------------------------------------
# The pinned, integrity-checked runtime the test matrix also uses (cached).
node_bin="$(bash "$root/scripts/node-runtime.sh" "$NODE_MAJOR")"
node_version="$("$node_bin" --version)"
case "$node_version" in v"$NODE_MAJOR".*) ;; *) fail "$node_bin is $node_version, not Node.js $NODE_MAJOR" ;; esac
step "Node.js runtime: $node_bin ($node_version)"

rootfs="$work/rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/share/doc/node" "$rootfs/etc" "$rootfs/app"
cp "$node_bin" "$rootfs/usr/local/bin/node"
node_license="$(dirname "$node_bin")/../LICENSE"
[ ! -f "$node_license" ] || cp "$node_license" "$rootfs/usr/local/share/doc/node/LICENSE"

# --- the shared libraries node links against, from this host ----------------------------
# Each at the path ldd resolves it to (the loader's own absolute path included), as real
# files, so the image needs no distribution layout (merged /usr or not).
libs="$(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)"
[ -n "$libs" ] || fail "ldd lists no libraries for $node_bin"
for lib in $libs; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
# glibc resolves names (getaddrinfo) through NSS; its `files` and `dns` modules are built
# into libc.so.6 on glibc >= 2.34, older ones load them at run time.
for lib in $libs; do
  case "$lib" in */libc.so.6)
    for nss in libnss_files.so.2 libnss_dns.so.2 libresolv.so.2; do
      [ -e "$(dirname "$lib")/$nss" ] || continue
      cp -L "$(dirname "$lib")/$nss" "$rootfs$(dirname "$lib")/$nss"
    done ;;
  esac
done
step "libraries: $(echo "$libs" | tr '\n' ' ')"

# --- the package, production dependencies only ----------------------------------------------
# Packed from a copy of the tree (tracked and new files, as a clone has them), so that its
# prepack build never replaces the dist/ that tests running beside this one are using.
src="$work/src"
mkdir "$src"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done | tar -c --null -T - -f -) | tar -x -C "$src"
else
  tar -c -C "$root" --exclude=./node_modules --exclude=./dist --exclude=./build -f - . | tar -x -C "$src"
fi
rm -rf "$src/dist" "$src/node_modules"
ln -s "$root/node_modules" "$src/node_modules"
step "npm pack (builds dist/ in a copy of the tree)"
(cd "$src" && npm pack --pack-destination "$work" >"$work/pack.log" 2>&1) || { cat "$work/pack.log" >&2; fail "npm pack"; }
tgz="$work/cryptid-gateway-$version.tgz"
[ -f "$tgz" ] || fail "npm pack made no $tgz"

step "npm install --omit=dev (the npm cache is reused)"
printf '{"name":"cryptid-gateway-image","version":"%s","private":true}\n' "$version" >"$rootfs/app/package.json"
(cd "$rootfs/app" && npm install --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline "$tgz" >"$work/install.log" 2>&1) || { cat "$work/install.log" >&2; fail "npm install"; }
# The manifest and lock name the temporary tarball; the installed tree is what matters.
rm -f "$rootfs/app/package.json" "$rootfs/app/package-lock.json" "$rootfs/app/node_modules/.package-lock.json"
# The image runs dist/ only; the package's examples are for readers of the npm package.
rm -rf "$rootfs/app/node_modules/cryptid-gateway/examples"
[ -f "$rootfs/app/node_modules/cryptid-gateway/dist/cryptid-gateway.js" ] || fail "the installed package has no dist/cryptid-gateway.js"

# --- users, name resolution ----------------------------------------------------------------
cat >"$rootfs/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
cryptid:x:$UID_GID:$UID_GID:cryptid-gateway:/nonexistent:/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<EOF
root:x:0:
cryptid:x:$UID_GID:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
# Container runtimes and the kubelet mount their own /etc/hosts and /etc/resolv.conf.
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"

# Read-only for everyone but root, which owns it all (bh copy --chown): the
# gateway's user can write nothing, so a read-only root filesystem changes nothing.
chmod -R u+rwX,go+rX,go-w "$rootfs"

# --- the image ---------------------------------------------------------------------------------
step "buildah from scratch"
container="$(bh from scratch)"
bh copy --quiet --chown 0:0 "$container" "$rootfs" / >/dev/null
revision="$(git -C "$root" rev-parse HEAD 2>/dev/null || true)"
source_url="$(node -p "(require('$root/package.json').repository.url || '').replace(/^git\+/, '').replace(/\.git\$/, '')")"
license="$(node -p "require('$root/package.json').license")"
# node runs with the flags of scripts/node-flags.txt (the young generation's size: see there).
entrypoint="$(node "$root/scripts/node-flags.js" --entrypoint /app/node_modules/cryptid-gateway/dist/cryptid-gateway.js)"
# and in the environment of scripts/node-env.txt (glibc's malloc keeping its freed heap: see there).
# Read first, so that a failure stops the build (set -e does not see one inside a process substitution).
assignments="$(node "$root/scripts/node-flags.js" --env)"
env_args=()
while IFS= read -r assignment; do if [ -n "$assignment" ]; then env_args+=(--env "$assignment"); fi; done <<<"$assignments"
bh config \
  --entrypoint "$entrypoint" \
  "${env_args[@]}" \
  --cmd '["serve"]' \
  --user "$UID_GID:$UID_GID" \
  --workingdir /app \
  --env PATH=/usr/local/bin \
  --env NODE_ENV=production \
  --port 8443/tcp \
  --port 9464/tcp \
  --stop-signal SIGTERM \
  --created-by "cryptid-gateway scripts/build-image.sh: a root filesystem assembled on the host, no base image" \
  --os linux \
  --arch "$( [ "$node_arch" = x64 ] && echo amd64 || echo arm64 )" \
  --label "org.opencontainers.image.title=cryptid-gateway" \
  --label "org.opencontainers.image.description=$(node -p "require('$root/package.json').description")" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.source=$source_url" \
  --label "org.opencontainers.image.licenses=$license" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "io.cryptid-gateway.node.version=$node_version" \
  "$container"
# A fixed creation time (the last commit's, or SOURCE_DATE_EPOCH) for the image and every
# file in its layer: the same tree builds the same image, byte for byte.
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}"
previous="$(bh images --quiet --no-trunc "localhost/$name:$version" 2>/dev/null || true)"
step "buildah commit $name:$version"
image_id="$(bh commit --quiet --format oci --timestamp "$epoch" --rm "$container" "localhost/$name:$version")"
container=""
# The image this tag named before would linger untagged, one per build.
if [ -n "$previous" ] && [ "$previous" != "$image_id" ] && [ "${previous#sha256:}" != "$image_id" ]; then
  bh rmi "$previous" >/dev/null 2>&1 || true
fi

mkdir -p "$out"
rm -f "$archive"
step "buildah push oci-archive:$archive"
bh push --quiet "localhost/$name:$version" "oci-archive:$archive:$name:$version" >/dev/null

size="$(bh images --format '{{.Size}}' "localhost/$name:$version")"
printf 'image    localhost/%s:%s (%s, Node.js %s, storage driver %s)\narchive  %s (%s KiB)\n' "$name" "$version" "$size" "$node_version" "$STORAGE_DRIVER" "$archive" "$(du -k "$archive" | cut -f1)"
