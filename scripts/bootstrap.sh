#!/usr/bin/env bash
# Sets up a fresh Debian bookworm machine for xgrad and builds it.
# Installs only the Debian packages that are missing, then configures and builds.
#
#   bash scripts/bootstrap.sh                       # Release build in build/
#   BUILD_DIR=build-asan SANITIZE=ON bash scripts/bootstrap.sh   # ASan + UBSan build
#   BUILD_DIR=build-tsan SANITIZE=thread TARGETS="test_parallel test_autograd test_data test_determinism" \
#     bash scripts/bootstrap.sh                                  # ThreadSanitizer build of those tests
#
# Environment: BUILD_DIR (build), BUILD_TYPE (Release), SANITIZE (OFF), JOBS (nproc),
# NO_BUILD (0; 1 installs the packages only), TARGETS (all; else the targets to build).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-Release}
SANITIZE=${SANITIZE:-OFF}
JOBS=${JOBS:-$(nproc)}

PACKAGES=(
  cmake ninja-build g++ pkg-config ccache   # toolchain
  libxtensor-dev xtl-dev libxsimd-dev       # tensors and SIMD
  libspdlog-dev libfmt-dev                  # logging and formatting
  nlohmann-json3-dev zlib1g-dev             # safetensors headers, .gz data files
  libzip-dev                                # PyTorch checkpoints (.pth are zip archives)
  libonnx-dev libprotobuf-dev protobuf-compiler  # ONNX export (checker, shape inference) and import
  libonnx-testdata                          # ONNX's node tests, run through onnx::load by ctest
  libstb-dev                                # PNG out
  libpng-dev libjpeg-dev                    # PNG and JPEG in (maintained decoders for untrusted files)
  python3-skimage                           # its data folder has the photo examples/filters uses
  dataset-fashion-mnist                     # the training examples' data
  catch2                                    # tests
  libcli11-dev                              # the example and bench programs' command lines
  libopenmpi-dev openmpi-bin                # xgrad::distributed (data-parallel training over MPI)
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# NO_BUILD=1: packages only (scripts/fuzz.sh builds its own way).
[ "${NO_BUILD:-0}" = 1 ] && exit 0

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD"  # lets a fresh clone in another folder hit the cache
fi

sanitizers=(-DXGRAD_SANITIZE="$SANITIZE" -DXGRAD_TSAN=OFF)
[ "$SANITIZE" = thread ] && sanitizers=(-DXGRAD_SANITIZE=OFF -DXGRAD_TSAN=ON)
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "${sanitizers[@]}" "${launcher[@]}"
targets=()
[ -n "${TARGETS:-}" ] && read -r -a targets <<<"$TARGETS" && targets=(--target "${targets[@]}")
cmake --build "$BUILD_DIR" -j"$JOBS" "${targets[@]}"
