#pragma once
// Internal: run a templated lambda for the C++ type of a dtype.
//   visit_floating(t.dtype(), "exp", [&]<class T>() { ... });

#include <cstdint>

#include "util/check.hpp"
#include "xgrad/dtype.hpp"

namespace xgrad::detail {

template <class F>
decltype(auto) visit_floating(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    default: break;
  }
  fail<DTypeError>("{}: expected a floating-point tensor (f32 or f64), got {}", op, dtype_name(dtype));
}

template <class F>
decltype(auto) visit_all(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::i64: return f.template operator()<std::int64_t>();
  }
  fail<DTypeError>("unknown dtype {}", static_cast<int>(dtype));
}

}  // namespace xgrad::detail
