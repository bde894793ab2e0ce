# Real Kubernetes control plane for the tests (issue 14): kube-apiserver and
# kube-controller-manager built from k8s.io/kubernetes through the Go module proxy,
# etcd from Debian trixie; cached by version under ~/.cache/ferroflux so that a second
# run skips the build. Sourced by scripts/test under `set -euo pipefail`.
FERROFLUX_K8S_VERSION=v1.34.4
_k8s_cache="${XDG_CACHE_HOME:-$HOME/.cache}/ferroflux/k8s-$FERROFLUX_K8S_VERSION"
if [ ! -x "$_k8s_cache/kube-apiserver" ] || [ ! -x "$_k8s_cache/kube-controller-manager" ]; then
  echo "control plane: building kube-apiserver $FERROFLUX_K8S_VERSION (cold build, cached in $_k8s_cache)" >&2
  _k8s_start=$(date +%s)
  _k8s_mod=$(mktemp -d)
  (
    cd "$_k8s_mod"
    go mod init ferroflux-k8s-build >/dev/null 2>&1
    go mod download k8s.io/kubernetes@"$FERROFLUX_K8S_VERSION"
    gomod=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$FERROFLUX_K8S_VERSION.mod
    staging=${FERROFLUX_K8S_VERSION/v1./v0.}
    # k8s.io/kubernetes points its k8s.io/* staging modules at ./staging; outside its own
    # tree they must be replaced with the published modules of the same release.
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9./-]*\) => ./staging/.*#\1#p' "$gomod" | while read -r m; do
      go mod edit -replace "$m=$m@$staging"
    done
    go mod edit -require "k8s.io/kubernetes@$FERROFLUX_K8S_VERSION"
    cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO
    go mod tidy >/dev/null 2>&1 || go mod tidy
    mkdir -p "$_k8s_cache.tmp"
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$_k8s_cache.tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
  )
  rm -rf "$_k8s_mod" "$_k8s_cache"
  mv "$_k8s_cache.tmp" "$_k8s_cache"
  echo "control plane: built in $(( $(date +%s) - _k8s_start )) s" >&2
fi
if [ ! -x "$PWD/.tools/trixie/usr/bin/etcd" ]; then
  "${FERROFLUX_SHARED_DIR:-../shared}/tools/trixie-pkg" etcd-server >/dev/null
fi
FERROFLUX_KUBE_APISERVER="$_k8s_cache/kube-apiserver"
FERROFLUX_KUBE_CONTROLLER_MANAGER="$_k8s_cache/kube-controller-manager"
FERROFLUX_ETCD="$PWD/.tools/trixie/usr/bin/etcd"
export FERROFLUX_K8S_VERSION FERROFLUX_KUBE_APISERVER FERROFLUX_KUBE_CONTROLLER_MANAGER FERROFLUX_ETCD
unset _k8s_cache _k8s_mod _k8s_start
