# ferroflux-sops: the real sops CLI, the oracle of the decryption tests
# (fixtures are encrypted by it during the run, then decrypted by ours and
# by `sops decrypt` and compared). Built from the Go module proxy and cached
# by version under ~/.cache/ferroflux/sops-<version>/. Sourced by
# scripts/test under `set -euo pipefail`; `age`/`age-keygen` come from
# Debian (.ci/packages/sops.txt), gpg from gnupg.
FERROFLUX_SOPS_VERSION=${FERROFLUX_SOPS_VERSION:-v3.13.2}
FERROFLUX_SOPS="${FERROFLUX_CACHE:-$HOME/.cache/ferroflux}/sops-$FERROFLUX_SOPS_VERSION/sops"
if [ ! -x "$FERROFLUX_SOPS" ]; then
  echo "55-sops: building sops $FERROFLUX_SOPS_VERSION from the Go module proxy (cold: a few minutes)" >&2
  GOBIN="$(dirname "$FERROFLUX_SOPS")" GOFLAGS=-mod=mod /usr/local/go/bin/go install \
    "github.com/getsops/sops/v3/cmd/sops@$FERROFLUX_SOPS_VERSION"
fi
export FERROFLUX_SOPS
