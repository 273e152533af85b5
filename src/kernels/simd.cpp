// Which instruction set the SIMD kernels run with.

#include "kernels/simd.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "util/log.hpp"

namespace xgrad::kernels {

namespace {

// The AVX-512 copies are built with F, CD, DQ, BW and VL; libgcc's CPU check
// also asks the OS (XGETBV) whether it saves the AVX and AVX-512 registers.
SimdLevel cpu_simd_level() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    return SimdLevel::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::avx2;
  return SimdLevel::sse2;
}

std::optional<SimdLevel> parse_simd_level(std::string_view name) {
  if (name == "avx512") return SimdLevel::avx512;
  if (name == "avx2") return SimdLevel::avx2;
  if (name == "sse2") return SimdLevel::sse2;
  return std::nullopt;
}

SimdLevel cap_from_environment() {
  const char* env = std::getenv("XGRAD_SIMD");
  if (env == nullptr) return SimdLevel::avx512;
  if (const auto level = parse_simd_level(env)) return *level;
  detail::logger().warn("XGRAD_SIMD={} is not one of avx512, avx2, sse2; ignored", env);
  return SimdLevel::avx512;
}

std::atomic<SimdLevel>& simd_cap() {
  static std::atomic<SimdLevel> cap{cap_from_environment()};
  return cap;
}

}  // namespace

SimdLevel simd_level() {
  static const SimdLevel cpu = cpu_simd_level();
  return std::min(cpu, simd_cap().load(std::memory_order_relaxed));
}

SimdLevel set_simd_cap(SimdLevel cap) { return simd_cap().exchange(cap); }

const char* simd_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::avx512: return "avx512";
    case SimdLevel::avx2: return "avx2+fma";
    case SimdLevel::sse2: break;
  }
  return "sse2";
}

}  // namespace xgrad::kernels
