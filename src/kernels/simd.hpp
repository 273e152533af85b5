#pragma once
// Internal: the one place xsimd is included, and the instruction sets xgrad
// dispatches between at run time (best first). A kernel family declares a
// functor with `template <class Arch> R operator()(Arch, args...) const;`,
// defines it in a *_simd.cpp file, and calls it through
// `xsimd::dispatch<simd_archs>(Functor{})(args...)`.
//
// Every *_simd.cpp file is compiled three times (src/CMakeLists.txt), once per
// instruction set, with XGRAD_SIMD_ARCH naming the xsimd arch of that copy and
// XGRAD_SIMD_NS a namespace private to it. Such a file instantiates its functor
// for XGRAD_SIMD_ARCH only, takes raw pointers and sizes, and keeps any helper
// inside `namespace XGRAD_SIMD_NS` so that no inline function compiled with
// AVX-512 can be merged into code that runs on a CPU without it.

#include <xsimd/xsimd.hpp>

namespace xgrad::kernels {

using simd_archs = xsimd::arch_list<xsimd::avx512f, xsimd::fma3<xsimd::avx2>, xsimd::sse2>;

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
