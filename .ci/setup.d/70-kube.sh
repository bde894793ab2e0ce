# ferroflux-kube: kubectl 1.32 from Debian trixie, unpacked into ./.tools/trixie
# (no system apt sources touched), for the tests that drive the fake apiserver
# with a client nobody here wrote. Sourced by scripts/test under
# `set -euo pipefail`.
if [ ! -x "$PWD/.tools/trixie/usr/bin/kubectl" ]; then
  "${FERROFLUX_SHARED_DIR:-../shared}/tools/trixie-pkg" kubectl >/dev/null
fi
FERROFLUX_KUBECTL="$PWD/.tools/trixie/usr/bin/kubectl"
export FERROFLUX_KUBECTL
