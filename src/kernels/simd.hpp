#pragma once
// Internal: the one place xsimd is included, and the instruction sets xgrad
// dispatches between at run time (best first). A kernel family declares a
// functor with `template <class Arch> R operator()(Arch, args...) const;`,
// defines it in a *_simd.cpp file, and calls it through
// `simd_call(Functor{}, args...)`, which picks the copy for simd_level().
//
// Every *_simd.cpp file is compiled three times (src/CMakeLists.txt), once per
// instruction set, with XGRAD_SIMD_ARCH naming the xsimd arch of that copy and
// XGRAD_SIMD_NS a namespace private to it. Such a file instantiates its functor
// for XGRAD_SIMD_ARCH only, takes raw pointers and sizes, and keeps any helper
// inside `namespace XGRAD_SIMD_NS` so that no inline function compiled with
// AVX-512 can be merged into code that runs on a CPU without it.

#include <xsimd/xsimd.hpp>

#include <utility>

namespace xgrad::kernels {

/// The instruction sets the *_simd.cpp copies are built for, in increasing order.
enum class SimdLevel { sse2, avx2, avx512 };

/// The level kernels use: the best the CPU supports — AVX-512 only with F, CD,
/// DQ, BW and VL (what that copy is built with) and OS support for its state —
/// capped by set_simd_cap, whose initial value comes from the environment
/// variable XGRAD_SIMD=avx512|avx2|sse2 (invalid values are logged and ignored).
SimdLevel simd_level();
/// Caps the level (never raises it above the CPU's); returns the previous cap.
/// For tests and benchmarks that exercise each path.
SimdLevel set_simd_cap(SimdLevel cap);
const char* simd_name(SimdLevel level);

/// Calls f(Arch{}, args...) for the arch of simd_level(). (xsimd::dispatch is
/// not used: it would pick AVX-512 on any CPU with AVX-512F alone.)
template <class F, class... Args>
decltype(auto) simd_call(F&& f, Args&&... args) {
  switch (simd_level()) {
    case SimdLevel::avx512: return f(xsimd::avx512f{}, std::forward<Args>(args)...);
    case SimdLevel::avx2: return f(xsimd::fma3<xsimd::avx2>{}, std::forward<Args>(args)...);
    case SimdLevel::sse2: break;
  }
  return f(xsimd::sse2{}, std::forward<Args>(args)...);
}

}  // namespace xgrad::kernels

#if defined(XGRAD_SIMD_AVX512)
#define XGRAD_SIMD_ARCH xsimd::avx512f
#define XGRAD_SIMD_NS simd_avx512
#elif defined(XGRAD_SIMD_AVX2)
#define XGRAD_SIMD_ARCH xsimd::fma3<xsimd::avx2>
#define XGRAD_SIMD_NS simd_avx2
#elif defined(XGRAD_SIMD_SSE2)
#define XGRAD_SIMD_ARCH xsimd::sse2
#define XGRAD_SIMD_NS simd_sse2
#endif
