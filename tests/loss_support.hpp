#pragma once
// Helpers shared by the loss tests (test_ops_loss*.cpp, test_nn_loss.cpp).

#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

#include "support.hpp"

namespace xgrad::testing {

/// An i64 tensor of class labels (1-D unless a shape is given).
inline Tensor labels(std::vector<std::int64_t> v, Shape shape = {}) { return from_vector(v, shape); }

/// A 0-d i64 class label (the target of an unbatched input).
inline Tensor label(std::int64_t v) { return from_vector(std::vector<std::int64_t>{v}).reshape({}); }

/// Uniform random class labels in [0, classes) of `shape`.
inline Tensor random_labels(const Shape& shape, std::int64_t classes) {
  const std::vector<double> u = values(rand(shape, {.dtype = f64}));
  std::vector<std::int64_t> v;
  for (double x : u) v.push_back(static_cast<std::int64_t>(x * static_cast<double>(classes)));
  return from_vector(v, shape);
}

/// The class-index target shape of a class-loss input shape (dim 1 dropped).
inline Shape target_shape(Shape input) {
  input.erase(input.begin() + 1);
  return input;
}

/// Random labels where the first target is `ignored` and no other is, so that a
/// gradcheck covers ignored targets without the mean becoming 0 / 0.
inline Tensor labels_ignoring_first(const Shape& shape, std::int64_t classes, std::int64_t ignored) {
  std::vector<std::int64_t> v = random_labels(shape, classes - 1).to_vector<std::int64_t>();
  for (std::int64_t& label : v)
    if (label >= ignored) ++label;  // skip the ignored class
  v.front() = ignored;
  return from_vector(v, shape);
}

/// The ignore_index values a gradcheck grid tries: none matching (-100), and a
/// valid class number given to the first target (when there is more than one).
inline std::vector<std::int64_t> ignore_cases(const Shape& target) {
  const auto targets = std::accumulate(target.begin(), target.end(), std::int64_t{1}, std::multiplies<>());
  if (targets == 1) return {-100};
  return {-100, 1};
}

inline Tensor gradcheck_labels(const Shape& input, std::int64_t ignore) {
  const Shape target = target_shape(input);
  return ignore == -100 ? random_labels(target, input[1]) : labels_ignoring_first(target, input[1], ignore);
}

/// Class-loss input shapes: [N, C] with batch 1 and > 1, odd C, and K-dim inputs.
inline const std::vector<Shape> class_shapes = {{1, 3}, {4, 5}, {3, 2}, {2, 3, 4}, {2, 4, 3, 2}, {1, 3, 1, 2}};

inline const std::vector<Reduction> all_reductions = {Reduction::none, Reduction::sum, Reduction::mean};

}  // namespace xgrad::testing
