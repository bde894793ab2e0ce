# kustomize v5.8.1 (the version Flux 2.9 embeds), built from the Go module
# proxy and cached by version (scripts/build-kustomize), and kustomize 5.6.0
# from Debian trixie (the judge of the conformance corpus) unpacked into
# ./.tools/trixie. Sourced by scripts/test under `set -euo pipefail`.
FERROFLUX_KUSTOMIZE_5_8=$(scripts/build-kustomize)
export FERROFLUX_KUSTOMIZE_5_8
if [ ! -x "$PWD/.tools/trixie/usr/bin/kustomize" ]; then
  "${FERROFLUX_SHARED_DIR:-../shared}/tools/trixie-pkg" kustomize >/dev/null
fi
FERROFLUX_KUSTOMIZE="$PWD/.tools/trixie/usr/bin/kustomize"
export FERROFLUX_KUSTOMIZE
