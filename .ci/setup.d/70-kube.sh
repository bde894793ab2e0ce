# ferroflux-kube: kubectl 1.32 from Debian trixie, unpacked into ./.tools/trixie
# (no system apt sources touched), for the tests that drive the real control
# plane (.ci/setup.d/40-control-plane.sh) as a user would. Sourced by
# scripts/test under `set -euo pipefail`.
if [ ! -x "$PWD/.tools/trixie/usr/bin/kubectl" ]; then
  "${FERROFLUX_SHARED_DIR:-../shared}/tools/trixie-pkg" kubectl >/dev/null
fi
FERROFLUX_KUBECTL="$PWD/.tools/trixie/usr/bin/kubectl"
export FERROFLUX_KUBECTL
