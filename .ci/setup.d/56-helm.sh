# ferroflux-helm: the real `helm` v4, the oracle of the chart-rendering
# tests (`helm template` on the same chart, values and flags as ours; the
# bytes are compared). Built from the Go module proxy and cached by version
# under ~/.cache/ferroflux/helm-<version>/. Sourced by scripts/test under
# `set -euo pipefail`. The version is the one ../shared/docs/helm-semantics.md
# was read from.
FERROFLUX_HELM_VERSION=${FERROFLUX_HELM_VERSION:-v4.2.4}
FERROFLUX_HELM="${FERROFLUX_CACHE:-$HOME/.cache/ferroflux}/helm-$FERROFLUX_HELM_VERSION/helm"
if [ ! -x "$FERROFLUX_HELM" ]; then
  echo "56-helm: building helm $FERROFLUX_HELM_VERSION from the Go module proxy (cold: a few minutes)" >&2
  GOBIN="$(dirname "$FERROFLUX_HELM")" GOFLAGS=-mod=mod /usr/local/go/bin/go install \
    -ldflags "-X helm.sh/helm/v4/internal/version.version=$FERROFLUX_HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$FERROFLUX_HELM_VERSION"
fi
export FERROFLUX_HELM
# Helm's own test charts ship in the module (its testdata folders); tests
# read them from the module cache, never from a copy in the repository.
FERROFLUX_HELM_MODULE="$(/usr/local/go/bin/go env GOMODCACHE)/helm.sh/helm/v4@$FERROFLUX_HELM_VERSION"
if [ ! -d "$FERROFLUX_HELM_MODULE" ]; then
  GOFLAGS=-mod=mod /usr/local/go/bin/go mod download "helm.sh/helm/v4@$FERROFLUX_HELM_VERSION"
fi
export FERROFLUX_HELM_MODULE
