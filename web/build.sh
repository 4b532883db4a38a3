#!/usr/bin/env bash
# Builds the browser demo into web/dist/ — the one command:  bash web/build.sh
#   1. the wasm (release, wasm32-unknown-unknown) + `wasm-bindgen --target web` glue; the
#      wasm-bindgen CLI is installed at exactly the wasm-bindgen version in Cargo.lock if missing;
#   2. the LeNet-5 weights: $TESSERA_WEB_WEIGHTS, else checkpoints/lenet5.safetensors (what
#      `tessera train lenet5` writes), else a 1-epoch run on the 60,000 training images (~30 s;
#      ~98% test accuracy: the page's test wants 18 of 20 drawn digits right; such a run got 19
#      here, a 20,000-image run's ~96% model 18)
#      into target/web/lenet5.safetensors — re-exported without the optimizer state; the native
#      tools build with the cargo arguments in $TESSERA_WEB_NATIVE_ARGS (default --release; e.g.
#      "--profile dev" trains a little slower but builds in seconds where `cargo test` has built
#      the rest);
#   3. mnist-train.bin / mnist-test.bin: 4,000 training and 1,000 test images from the cached
#      MNIST dataset (TESSERA_WEB_TRAIN / TESSERA_WEB_TEST change the counts);
#   4. the page itself (index.html, app.js, style.css).
# Serve it with `node web/serve.mjs` and open http://localhost:8080/ in a WebGPU browser.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=web/dist

rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
WB_VERSION=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$WB_VERSION" ]; then
  echo "== installing wasm-bindgen-cli $WB_VERSION (must equal the wasm-bindgen crate)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

echo "== wasm (release)"
cargo build --release --target wasm32-unknown-unknown -p tessera-web --lib
mkdir -p "$DIST"
wasm-bindgen --target web --no-typescript --out-dir "$DIST" target/wasm32-unknown-unknown/release/tessera_web.wasm

read -ra NATIVE_ARGS <<< "${TESSERA_WEB_NATIVE_ARGS:---release}"
WEIGHTS="${TESSERA_WEB_WEIGHTS:-checkpoints/lenet5.safetensors}"
if [ ! -f "$WEIGHTS" ]; then
  WEIGHTS=target/web/lenet5.safetensors
  if [ ! -f "$WEIGHTS" ]; then
    echo "== no trained weights: a LeNet-5 run (1 epoch, 60,000 images) into $WEIGHTS"
    cargo run "${NATIVE_ARGS[@]}" -p tessera -- train lenet5 --epochs 1 --test-limit 2000 \
      --quiet --checkpoint "$WEIGHTS"
  fi
fi
echo "== weights from $WEIGHTS, MNIST subsets"
cargo run "${NATIVE_ARGS[@]}" -q -p tessera-web --bin tessera-web-assets -- --out "$DIST" --weights "$WEIGHTS" \
  --train "${TESSERA_WEB_TRAIN:-4000}" --test "${TESSERA_WEB_TEST:-1000}"

cp web/index.html web/app.js web/style.css "$DIST/"
WASM="$DIST/tessera_web_bg.wasm"
echo "== web/dist ready: wasm $(stat -c %s "$WASM") bytes ($(gzip -9c "$WASM" | wc -c) gzipped)"
