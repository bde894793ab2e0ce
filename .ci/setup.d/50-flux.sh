# Flux's image-reflector-controller and image-automation-controller, built
# from the Go module proxy and cached by version (scripts/build-flux), for
# `cargo bench -p ferroflux --bench versus-flux`. Nothing of Flux is
# committed. Sourced by scripts/test under `set -euo pipefail`: a proxy that
# stops serving them fails here, with its own words.
FERROFLUX_FLUX_DIR=$(scripts/build-flux)
export FERROFLUX_FLUX_DIR
