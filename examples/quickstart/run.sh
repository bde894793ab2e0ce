#!/usr/bin/env bash
# ferroflux quickstart: seed 000's image bump, locally, in one command.
#
#   examples/quickstart/run.sh          (from the repository root)
#
# Starts Debian's docker-registry on loopback (installing it with apt when
# missing), creates a bare Git repository with seed-000-style manifests
# (ImageRepository, ImagePolicy with seed 000's pattern/extract, a Receiver,
# an ImageUpdateAutomation with seed 000's commit template, a Deployment
# whose two containers carry $imagepolicy markers), pushes the tags 0.13.2,
# api-0.13.0, streamlit-0.13.0 and then 0.13.3, runs
# `ferroflux automate --once` and shows the commit it pushed.
#
# Environment: QUICKSTART_DIR (work directory, default a fresh temp dir),
# QUICKSTART_PORT (registry port, default 5055), FERROFLUX (binary path).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${QUICKSTART_DIR:-$(mktemp -d -t ferroflux-quickstart.XXXXXX)}
mkdir -p "$work"
port=${QUICKSTART_PORT:-5055}
host="127.0.0.1:$port"
image_repo="tbd/keyword_correction"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  say "installing $2 (for $1)"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
  fi
}

need git git
need curl curl
need sha256sum coreutils
if [ ! -x /usr/bin/docker-registry ]; then
  need docker-registry docker-registry
fi

# 1. The ferroflux binary.
target=${CARGO_TARGET_DIR:-$root/target}
ferroflux=${FERROFLUX:-$target/release/ferroflux}
if [ ! -x "$ferroflux" ]; then
  say "building ferroflux (cargo build --release -p ferroflux)"
  (cd "$root" && cargo build --release -p ferroflux)
fi

# 2. A registry on loopback.
say "starting docker-registry on $host (work dir $work)"
mkdir -p "$work/registry"
cat >"$work/registry/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry/storage
http:
  addr: $host
YAML
/usr/bin/docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://$host/v2/" >/dev/null 2>&1 && break
  if ! kill -0 "$registry_pid" 2>/dev/null; then
    echo "docker-registry did not start (port $port in use? set QUICKSTART_PORT):" >&2
    cat "$work/registry/log" >&2
    exit 1
  fi
  sleep 0.1
done

# A minimal OCI image (empty config, no layers) pushed as $image_repo:$1.
push_tag() {
  local tag=$1 config='{}' digest location manifest
  digest="sha256:$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)"
  location=$(curl -fsS -D - -o /dev/null -X POST "http://$host/v2/$image_repo/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case "$location" in http*) ;; *) location="http://$host$location" ;; esac
  case "$location" in *\?*) location="$location&digest=$digest" ;; *) location="$location?digest=$digest" ;; esac
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary "$config" "$location"
  manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[],"annotations":{"org.opencontainers.image.ref.name":"%s"}}' "$digest" "$tag")
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "$manifest" "http://$host/v2/$image_repo/manifests/$tag"
  echo "pushed $host/$image_repo:$tag"
}

# 3. A bare Git repository with the manifests.
say "creating the Git repository $work/flux.git"
rm -rf "$work/flux.git" "$work/seed"
git init -q --bare --initial-branch=main "$work/flux.git"
git clone -q "$work/flux.git" "$work/seed" 2>/dev/null
cp -R "$here/repo/." "$work/seed/"
find "$work/seed" -name '*.yaml' -not -path '*/.git/*' -exec sed -i "s#REGISTRY_HOST#$host#g" {} +
git -C "$work/seed" add -A
git -C "$work/seed" -c user.name=quickstart -c user.email=quickstart@example.invalid \
  commit -q -m "Flux manifests (seed 000 style)"
git -C "$work/seed" push -q origin HEAD:main

# 4. Tags: the old release, the transitional api-/streamlit- tags, then the new one.
say "pushing image tags"
for tag in 0.13.2 api-0.13.0 streamlit-0.13.0 0.13.3; do
  push_tag "$tag"
done

# 5. One automation pass.
say "ferroflux automate --once"
set +e
"$ferroflux" automate --repo "$work/flux.git" --path clusters/stage --once \
  --state "$work/state.redb" --secrets "$here/secrets"
code=$?
set -e

say "the commit ferroflux pushed (git log -1 -p)"
git --git-dir "$work/flux.git" log -1 -p --stat main | cat

say "ferroflux get image policy"
"$ferroflux" get image policy --state "$work/state.redb"

cat <<EOF2

Next: keep it running and let a registry webhook drive it.
  $ferroflux automate --repo $work/flux.git --path clusters/stage --watch \\
      --state $work/state.redb --secrets $here/secrets --listen 127.0.0.1:9292
Push a new tag, then call the Receiver's path (printed above under
"receivers") with the Harbor token:
  curl -X POST -H 'Authorization: quickstart-token' http://127.0.0.1:9292/hook/<path>
EOF2
exit "$code"
