#pragma once
// Internal: error construction and argument checks shared by every op.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <string>
#include <utility>

#include "xgrad/error.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::detail {

/// Throws E with a fmt-formatted message: `fail<ShapeError>("add: ...", ...)`.
template <class E = Error, class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw E(fmt::format(format, std::forward<Args>(args)...));
}

/// "[8, 3, 32, 32]"
inline std::string str(const Shape& shape) { return shape_to_string(shape); }

/// Maps a possibly negative dim to [0, ndim); throws ValueError naming the op.
std::int64_t wrap_dim(const char* op, std::int64_t dim, std::int64_t ndim);

/// Throws DTypeError unless a and b have the same dtype.
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);
/// Throws DTypeError unless t is f32 or f64.
void check_floating(const char* op, const Tensor& t);
/// Throws Error when t is undefined.
void check_defined(const char* op, const Tensor& t, const char* what = "input");

}  // namespace xgrad::detail
