#pragma once
/// \file gradcheck.hpp
/// Numeric gradient checking for any differentiable function, built-in or yours.
///
///   auto fn = [](const std::vector<Tensor>& in) { return xgrad::tanh(in[0] * in[1]); };
///   xgrad::GradcheckReport r = xgrad::gradcheck(fn, {a, b});   // a, b: f64 leaves
///   if (!r.ok) std::cout << r;                                  // names the worst element
///
/// The scalar checked is sum(fn(inputs) * v) for a fixed random cotangent v (so
/// every output element matters, as in a vector-Jacobian product). Each element
/// of every input that requires grad is perturbed by ±eps (central differences);
/// the analytic gradient comes from backward. An element passes when
/// |analytic - numeric| <= atol + rtol * |numeric|. Beside that first-order
/// check it runs, as the options say:
///   accumulation: gradients pre-filled with a known value must come back
///     shifted by exactly the new gradient (a backward that overwrites fails);
///   unassigned gradient: always; the analytic backward runs with new buffers
///     filled with NaN, so a gradient element a backward forgets to write shows
///     up (dlib's trick);
///   fast_mode: instead of the full Jacobian, the projection u^T J v for random
///     u, v (one backward and two forwards per input, as pytorch#53876);
///   nondet_tol: backward twice, the two must agree within it;
///   check_undefined_grad: a zero grad output gives zero gradients;
///   check_forward_ad: the jvp (forward mode) along a random tangent equals the
///     numeric directional derivative;
///   check_noncontiguous: the same analytic gradients through transposed or
///     strided views of the inputs.
/// The report names the check that failed.
///
/// gradgradcheck checks second derivatives the same way: it runs gradcheck on the
/// function (inputs, v) -> the gradients of sum(fn(inputs) * v) with respect to
/// the inputs, computed with create_graph, for a random grad output v (a
/// non-contiguous leaf that requires grad, so the derivative in v is checked too).

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad {

struct GradcheckOptions {
  double eps = 1e-6;
  /// Tolerances; default 1e-5 and 1e-3. float32 inputs are refused unless both
  /// are given explicitly (float32 cannot meet the float64 defaults).
  std::optional<double> atol = std::nullopt;
  std::optional<double> rtol = std::nullopt;
  std::uint64_t seed = 0;  ///< seeds the cotangent (not the default generator)
  bool check_accumulation = true;
  bool fast_mode = false;            ///< check u^T J v per input instead of every element
  double nondet_tol = 0.0;           ///< two backwards may differ by this much
  bool check_undefined_grad = true;  ///< zero grad output -> zero gradients, no crash
  bool check_forward_ad = false;     ///< jvp along a random tangent vs central differences
  bool check_noncontiguous = true;   ///< same gradients through non-contiguous views
};

struct GradcheckReport {
  bool ok = false;
  bool accumulates = false;     ///< pre-filled gradients came back shifted by the new gradient
  double max_abs_error = 0.0;   ///< max |analytic - numeric| over all checked elements
  double max_rel_error = 0.0;   ///< max |analytic - numeric| / max(|numeric|, atol)
  std::int64_t checked_elements = 0;
  // The element that came closest to (or furthest past) its tolerance.
  std::size_t worst_input = 0;
  std::int64_t worst_index = -1;  ///< flat row-major index within that input
  Shape worst_position;           ///< the same as a multi-index
  double worst_analytic = 0.0;
  double worst_numeric = 0.0;
  /// Empty when ok, else the check that failed: "first order", "second order",
  /// "fast mode", "forward mode", "repeatability", "undefined grad",
  /// "non-contiguous", "accumulation" or "unassigned gradient".
  std::string failed_check;
  std::string message;  ///< one readable paragraph saying what passed or failed
};

using GradcheckFunction = std::function<Tensor(const std::vector<Tensor>&)>;

/// Checks fn's backward against central differences over `inputs` (those that
/// require grad must be leaves). Inputs and their .grad() are left as found.
GradcheckReport gradcheck(const GradcheckFunction& fn, const std::vector<Tensor>& inputs,
                          GradcheckOptions options = {});

/// Checks fn's double backward against central differences of its backward, as
/// PyTorch's gradgradcheck: worst_input == inputs.size() names the grad output v.
GradcheckReport gradgradcheck(const GradcheckFunction& fn, const std::vector<Tensor>& inputs,
                              GradcheckOptions options = {});

std::ostream& operator<<(std::ostream& os, const GradcheckReport& report);

}  // namespace xgrad
