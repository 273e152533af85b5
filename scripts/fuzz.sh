#!/usr/bin/env bash
# Builds xgrad's libFuzzer targets (tests/fuzz/, clang with ASan + UBSan) and runs
# each for a while from its committed seeds. A crash, leak, timeout or memory blow-up
# fails the script and leaves the input in $BUILD_DIR/artifacts/<target>/.
#
#   bash scripts/fuzz.sh                  # every target for 60 s (what CI runs)
#   bash scripts/fuzz.sh 3600 image idx   # the named targets for an hour each
#
# Environment: BUILD_DIR (build-fuzz), JOBS (nproc), FUZZ_OPT (-O1), FUZZ_ARGS (more libFuzzer flags,
# e.g. "-runs=10000000" for a run of fixed length, or "-jobs=2 -workers=2").
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(safetensors checkpoint idx cifar10 image torch onnx)
BUILD_DIR=${BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-$(nproc)}

PACKAGES=(clang libclang-rt-14-dev)  # clang's libFuzzer and sanitizer runtimes
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  SUDO=
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The library's own dependencies, and the build tools (without building).
NO_BUILD=1 bash scripts/bootstrap.sh

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD"
fi
# -O1 by default, as OSS-Fuzz builds: half the compile time of -O2 for most of the
# speed. CI's one-minute runs build at FUZZ_OPT=-O0 (the build is most of their time).
CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="${FUZZ_OPT:--O1} -DNDEBUG" -DXGRAD_FUZZ=ON -DXGRAD_SANITIZE=ON \
  -DXGRAD_BUILD_TESTS=OFF -DXGRAD_BUILD_EXAMPLES=OFF -DXGRAD_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS" --target "${TARGETS[@]/#/fuzz_}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fuzz=tests/fuzz
for target in "${TARGETS[@]}"; do
  dict=$fuzz/dict/$target.dict
  [ "$target" = checkpoint ] && dict=$fuzz/dict/safetensors.dict
  [ "$target" = cifar10 ] && dict=
  [ "$target" = onnx ] && dict=
  work="$BUILD_DIR/corpus/$target"      # what the fuzzer finds (the committed seeds stay as they are)
  artifacts="$BUILD_DIR/artifacts/$target/"
  mkdir -p "$work" "$artifacts"
  seeds=("$fuzz/corpus/$target")
  [ -d "$fuzz/regressions/$target" ] && seeds+=("$fuzz/regressions/$target")
  echo "fuzz.sh: $target for ${SECONDS_EACH} s"
  # -rss_limit_mb and -malloc_limit_mb: a small file that makes a loader allocate
  # more than it can back is a finding, not a slow run. -max_len: inputs up to 8 KiB
  # (two CIFAR records; the large regression seeds would otherwise set it to 200 KB).
  log="$BUILD_DIR/fuzz-$target.log"
  status=0
  "$BUILD_DIR/tests/fuzz/fuzz_$target" "$work" "${seeds[@]}" ${dict:+-dict="$dict"} \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -max_len=8192 \
    -artifact_prefix="$artifacts" -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)" "$log" || true
  if [ "$status" -ne 0 ]; then
    grep -E -A30 "==[0-9]+==ERROR|^SUMMARY|Test unit written|deadly signal|uncaught" "$log" | head -60 >&2 || true
    echo "fuzz.sh: $target FAILED (exit $status); the input is in $artifacts, the log in $log" >&2
    exit 1
  fi
done
echo "fuzz.sh: every target ran clean"
