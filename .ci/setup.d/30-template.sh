# ferroflux-template: build the Go template oracle (text/template + sprig's
# hermetic functions + Flux's data model) into ./.tools/template-oracle and
# export its path (differential test) and its directory (examples.json).
# Sourced by scripts/test under `set -euo pipefail`.
FERROFLUX_TEMPLATE_ORACLE_DIR="${FERROFLUX_SHARED_DIR:-../shared}/tools/template-oracle"
FERROFLUX_TEMPLATE_ORACLE=$("$FERROFLUX_TEMPLATE_ORACLE_DIR/build" "$PWD/.tools/template-oracle")
export FERROFLUX_TEMPLATE_ORACLE FERROFLUX_TEMPLATE_ORACLE_DIR
