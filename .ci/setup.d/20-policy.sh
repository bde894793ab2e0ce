# ferroflux-policy: build the Go policy oracle (real Masterminds/semver, regexp,
# strconv) into ./.tools/policy-oracle and export its path for the
# differential test. Sourced by scripts/test under `set -euo pipefail`.
FERROFLUX_POLICY_ORACLE=$("${FERROFLUX_SHARED_DIR:-../shared}/tools/policy-oracle/build" "$PWD/.tools/policy-oracle")
export FERROFLUX_POLICY_ORACLE
