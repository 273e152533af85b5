#pragma once
// Shared by the interpolation tests: the input pattern PyTorch's values were
// computed from, and a check of an output's shape and values.

#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

#include "support.hpp"

namespace xgrad::testing {

// The inputs the PyTorch values were computed from: element i is (7 i mod 11) - 5.
inline Tensor pattern(const Shape& shape, DType dtype = f64) {
  std::vector<double> v(
      static_cast<std::size_t>(std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>())));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(static_cast<std::int64_t>(i * 7 % 11) - 5);
  return from_vector(v, shape, {.dtype = dtype});
}

struct Expected {
  Shape shape;
  std::vector<double> values;
};

inline void require_output(const Tensor& out, const Expected& expected, double tol = 1e-12) {
  REQUIRE(out.shape() == expected.shape);
  require_values(out, expected.values, tol);
}

}  // namespace xgrad::testing
