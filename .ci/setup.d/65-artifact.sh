# ferroflux-artifact: source-controller's own archiver (fluxcd/pkg/artifact,
# built from the Go module proxy and cached by version by
# scripts/artifact-oracle), the judge of our artifact tar streams.
# Sourced by scripts/test under `set -euo pipefail`.
FERROFLUX_ARTIFACT_ORACLE=$(scripts/artifact-oracle --print-path)
export FERROFLUX_ARTIFACT_ORACLE
