#include "xgrad/gradcheck.hpp"

#include <cmath>
#include <ostream>

#include "autograd/grad_mode.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "util/dispatch.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/ops/arithmetic.hpp"
#include "xgrad/ops/shape.hpp"
#include "xgrad/random.hpp"

namespace xgrad {

using detail::fail;
using detail::str;

namespace {

constexpr double kDefaultAtol = 1e-5;
constexpr double kDefaultRtol = 1e-3;

// Reads and writes one element of a (possibly strided) floating tensor without
// touching its version counter: gradcheck restores every value it changes.
struct ElementAccess {
  const Tensor& t;
  std::int64_t offset_of(std::int64_t flat) const {
    std::int64_t offset = 0;
    for (std::size_t d = t.shape().size(); d-- > 0;) {
      offset += (flat % t.shape()[d]) * t.strides()[d];
      flat /= t.shape()[d];
    }
    return offset;
  }
  double get(std::int64_t flat) const {
    return detail::visit_floating(t.dtype(), "gradcheck",
                                  [&]<class T>() { return double(detail::element_ptr<T>(t)[offset_of(flat)]); });
  }
  void set(std::int64_t flat, double v) const {
    detail::visit_floating(t.dtype(), "gradcheck",
                           [&]<class T>() { detail::element_ptr<T>(t)[offset_of(flat)] = static_cast<T>(v); });
  }
};

double dot(const Tensor& y, const std::vector<double>& v) {
  const std::vector<double> values = y.to_vector<double>();
  double s = 0;
  for (std::size_t i = 0; i < values.size(); ++i) s += values[i] * v[i];
  return s;
}

Tensor tensor_of(const std::vector<double>& values, const Shape& shape, DType dtype) {
  NoGradGuard no_grad;
  return from_vector(values, {static_cast<std::int64_t>(values.size())}, {.dtype = dtype}).reshape(shape);
}

Tensor call(const GradcheckFunction& fn, const std::vector<Tensor>& inputs) {
  Tensor y = fn(inputs);
  if (!y.defined()) fail<ValueError>("gradcheck: the function returned an undefined tensor");
  if (!is_floating(y.dtype()))
    fail<DTypeError>("gradcheck: the function must return a floating tensor, got {}", dtype_name(y.dtype()));
  return y;
}

// Runs forward + backward with the cotangent and returns each checked input's .grad()
// (zeros where backward did not reach).
std::vector<std::vector<double>> analytic_gradients(const GradcheckFunction& fn, const std::vector<Tensor>& inputs,
                                                    const std::vector<std::size_t>& checked,
                                                    const std::vector<double>& cotangent) {
  Tensor y = call(fn, inputs);
  if (y.requires_grad()) {
    y.backward(tensor_of(cotangent, y.shape(), y.dtype()));
  }
  std::vector<std::vector<double>> grads;
  for (std::size_t i : checked) {
    const Tensor g = inputs[i].grad();
    grads.push_back(g.defined() ? g.to_vector<double>()
                                : std::vector<double>(static_cast<std::size_t>(inputs[i].numel()), 0.0));
  }
  return grads;
}

}  // namespace

namespace {

using Gradients = std::vector<std::vector<double>>;

// Standard normal values from a private generator (the user's stream is untouched).
std::vector<double> normal_values(std::int64_t n, std::uint64_t seed) {
  std::vector<double> values;
  Generator gen(seed);
  for (std::int64_t k = 0; k < n; k += 2) {
    double a = 0, b = 0;
    gen.normal_pair(a, b);
    values.push_back(a);
    if (k + 1 < n) values.push_back(b);
  }
  return values;
}

// x's values in a non-contiguous leaf that requires grad: every element at an
// even position of a tensor twice as long along a new last dim.
Tensor noncontiguous_copy(const Tensor& x) {
  NoGradGuard no_grad;
  Tensor v = stack({x.detach(), zeros_like(x)}, -1).select(-1, 0);
  v.requires_grad_();
  return v;
}

// Where the analytic and numeric values of one element are compared: keeps the
// maxima and the element closest to (or furthest past) its tolerance.
struct Comparison {
  double atol, rtol;
  GradcheckReport& report;
  double worst_ratio = -1.0;
  void add(std::size_t input, std::int64_t index, const Shape& shape, double analytic, double numeric) {
    const double error = std::abs(analytic - numeric);
    const double ratio = error / (atol + rtol * std::abs(numeric));
    // NaN (from a NaN gradient) must win, and std::max would drop it.
    const double rel = error / std::max(std::abs(numeric), atol);
    if (std::isnan(error) || error > report.max_abs_error) report.max_abs_error = error;
    if (std::isnan(rel) || rel > report.max_rel_error) report.max_rel_error = rel;
    ++report.checked_elements;
    if (ratio > worst_ratio || std::isnan(ratio)) {
      worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
      report.worst_input = input;
      report.worst_index = index;
      report.worst_position = index >= 0 ? detail::unravel_index(index, shape) : Shape{};
      report.worst_analytic = analytic;
      report.worst_numeric = numeric;
    }
  }
  bool within() const { return worst_ratio <= 1.0; }
};

// The largest |a - b| over two sets of gradients, and where.
struct Difference {
  double largest = 0.0;
  std::size_t input = 0;
  std::int64_t index = -1;
  double a = 0.0, b = 0.0;
};

Difference largest_difference(const Gradients& a, const Gradients& b, const std::vector<std::size_t>& checked,
                              double rtol) {
  Difference d;
  for (std::size_t k = 0; k < a.size(); ++k)
    for (std::size_t e = 0; e < a[k].size(); ++e) {
      const double diff = std::abs(a[k][e] - b[k][e]) / (1.0 + rtol * std::abs(b[k][e]));
      if (diff > d.largest || std::isnan(diff)) {
        d = {std::isnan(diff) ? INFINITY : diff, checked[k], static_cast<std::int64_t>(e), a[k][e], b[k][e]};
      }
    }
  return d;
}

}  // namespace

GradcheckReport gradcheck(const GradcheckFunction& fn, const std::vector<Tensor>& inputs, GradcheckOptions options) {
  std::vector<std::size_t> checked;
  bool any_f32 = false;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined()) fail<ValueError>("gradcheck: input {} is an undefined tensor", i);
    if (!x.requires_grad()) continue;
    if (!x.is_leaf())
      fail<ValueError>("gradcheck: input {} (shape {}) requires grad but is not a leaf; pass leaf tensors", i,
                       str(x.shape()));
    any_f32 = any_f32 || x.dtype() == f32;
    checked.push_back(i);
  }
  if (checked.empty()) fail<ValueError>("gradcheck: no input requires grad, so there is nothing to check");
  if (any_f32 && !(options.atol && options.rtol))
    fail<DTypeError>(
        "gradcheck: float32 inputs cannot meet the float64 tolerances; use f64 inputs (x.to(xgrad::f64)) or "
        "set both atol and rtol explicitly");
  if (options.nondet_tol < 0) fail<ValueError>("gradcheck: nondet_tol must be >= 0, got {}", options.nondet_tol);
  const double atol = options.atol.value_or(kDefaultAtol);
  const double rtol = options.rtol.value_or(kDefaultRtol);

  // Leave .grad() as found.
  std::vector<Tensor> saved_grads;
  for (std::size_t i : checked) {
    saved_grads.push_back(inputs[i].grad());
    inputs[i].set_grad(Tensor());
  }
  struct RestoreGrads {
    const std::vector<Tensor>& inputs;
    const std::vector<std::size_t>& checked;
    const std::vector<Tensor>& saved;
    ~RestoreGrads() {
      for (std::size_t k = 0; k < checked.size(); ++k) inputs[checked[k]].set_grad(saved[k]);
    }
  } restore{inputs, checked, saved_grads};
  const auto reset_grads = [&] {
    for (std::size_t i : checked) inputs[i].set_grad(Tensor());
  };

  Shape out_shape;
  {
    NoGradGuard no_grad;
    out_shape = call(fn, inputs).shape();
  }
  const std::vector<double> cotangent = normal_values(detail::shape_numel(out_shape), options.seed);

  GradcheckReport report;
  std::vector<std::string> failures;
  // First order, with new buffers poisoned so that unwritten gradient elements are NaN.
  Gradients analytic;
  {
    detail::PoisonNewStorage poison;
    analytic = analytic_gradients(fn, inputs, checked, cotangent);
  }
  reset_grads();

  // Repeatability: a second backward agrees within nondet_tol.
  {
    const Gradients again = analytic_gradients(fn, inputs, checked, cotangent);
    reset_grads();
    const Difference d = largest_difference(again, analytic, checked, 0.0);
    if (d.largest > options.nondet_tol)
      failures.push_back(fmt::format("repeatability: input {} element {} came out {:.10g} then {:.10g} (nondet_tol {:g})",
                                     d.input, d.index, d.b, d.a, options.nondet_tol));
  }

  // Accumulation: pre-fill with a known pattern, run again, expect pattern + gradient.
  report.accumulates = true;
  if (options.check_accumulation) {
    std::vector<std::vector<double>> prefill;
    for (std::size_t k = 0; k < checked.size(); ++k) {
      const Tensor& x = inputs[checked[k]];
      std::vector<double> p(static_cast<std::size_t>(x.numel()));
      for (std::size_t e = 0; e < p.size(); ++e) p[e] = 0.5 + 0.25 * static_cast<double>(e % 7);
      x.set_grad(tensor_of(p, x.shape(), x.dtype()));
      prefill.push_back(std::move(p));
    }
    const auto again = analytic_gradients(fn, inputs, checked, cotangent);
    const double tolerance = any_f32 ? 1e-5 : 1e-12;
    for (std::size_t k = 0; k < checked.size(); ++k)
      for (std::size_t e = 0; e < again[k].size(); ++e) {
        const double expected = prefill[k][e] + analytic[k][e];
        if (std::abs(again[k][e] - expected) > tolerance * (1.0 + std::abs(expected)) + options.nondet_tol)
          report.accumulates = false;
      }
    reset_grads();
    if (!report.accumulates) failures.push_back("accumulation: backward does not accumulate into pre-filled gradients");
  }

  // A zero grad output gives zero gradients.
  if (options.check_undefined_grad) {
    const Gradients zero = analytic_gradients(fn, inputs, checked, std::vector<double>(cotangent.size(), 0.0));
    reset_grads();
    for (std::size_t k = 0; k < zero.size() && failures.size() < 8; ++k)
      for (std::size_t e = 0; e < zero[k].size(); ++e)
        if (!(std::abs(zero[k][e]) <= options.nondet_tol)) {
          failures.push_back(fmt::format("undefined grad: with a zero grad output, input {} element {} has gradient {:.10g}",
                                         checked[k], e, zero[k][e]));
          break;
        }
  }

  // The same gradients through non-contiguous views of the inputs.
  if (options.check_noncontiguous) {
    std::vector<Tensor> views = inputs;
    for (std::size_t i : checked) views[i] = noncontiguous_copy(inputs[i]);
    Gradients through_views = analytic_gradients(fn, views, checked, cotangent);
    // An argument fn does not read (a module's parameters that fn reaches through
    // the module instead) gets no gradient through its view: not compared.
    Gradients expected = analytic;
    for (std::size_t k = 0; k < checked.size(); ++k)
      if (!views[checked[k]].grad().defined()) through_views[k] = expected[k] = {};
    const Difference d = largest_difference(through_views, expected, checked, rtol);
    if (d.largest > atol)
      failures.push_back(fmt::format("non-contiguous: through a strided view, input {} element {} has gradient {:.10g} "
                                     "instead of {:.10g}",
                                     d.input, d.index, d.a, d.b));
  }

  // Forward mode: the jvp along a random tangent vs the numeric directional derivative.
  if (options.check_forward_ad) {
    std::vector<Tensor> tangents(inputs.size());
    for (std::size_t k = 0; k < checked.size(); ++k) {
      const Tensor& x = inputs[checked[k]];
      tangents[checked[k]] = tensor_of(normal_values(x.numel(), options.seed + 101 + k), x.shape(), x.dtype());
    }
    std::vector<double> jvp;
    {
      NoGradGuard no_grad;
      autograd::forward_ad::DualLevel level;
      std::vector<Tensor> duals = inputs;
      for (std::size_t i : checked) duals[i] = autograd::forward_ad::make_dual(inputs[i].detach(), tangents[i]);
      const Tensor t = autograd::forward_ad::unpack_dual(call(fn, duals)).tangent;
      jvp = t.defined() ? t.to_vector<double>() : std::vector<double>(cotangent.size(), 0.0);
    }
    std::vector<double> numeric(jvp.size(), 0.0);
    {
      NoGradGuard no_grad;
      std::vector<Tensor> plus = inputs, minus = inputs;
      for (std::size_t i : checked) {
        plus[i] = inputs[i].detach() + tangents[i] * options.eps;
        minus[i] = inputs[i].detach() - tangents[i] * options.eps;
      }
      const std::vector<double> up = call(fn, plus).to_vector<double>(), down = call(fn, minus).to_vector<double>();
      for (std::size_t e = 0; e < numeric.size(); ++e) numeric[e] = (up[e] - down[e]) / (2.0 * options.eps);
    }
    for (std::size_t e = 0; e < jvp.size(); ++e) {
      const double error = std::abs(jvp[e] - numeric[e]);
      if (!(error <= atol + rtol * std::abs(numeric[e]))) {
        failures.push_back(fmt::format("forward mode: output element {} at {}: jvp {:.10g} vs numeric {:.10g}", e,
                                       str(detail::unravel_index(static_cast<std::int64_t>(e), out_shape)), jvp[e],
                                       numeric[e]));
        break;
      }
    }
  }

  // First order against central differences: every element, or (fast mode) one
  // random projection u^T J v per input.
  NoGradGuard no_grad;
  Comparison compare{atol, rtol, report};
  for (std::size_t k = 0; k < checked.size(); ++k) {
    const Tensor& x = inputs[checked[k]];
    const ElementAccess access{x};
    if (options.fast_mode) {
      const std::vector<double> u = normal_values(x.numel(), options.seed + 1 + k);
      const Tensor du = tensor_of(u, x.shape(), x.dtype());
      std::vector<Tensor> plus = inputs, minus = inputs;
      plus[checked[k]] = x.detach() + du * options.eps;
      minus[checked[k]] = x.detach() - du * options.eps;
      const double numeric = (dot(call(fn, plus), cotangent) - dot(call(fn, minus), cotangent)) / (2.0 * options.eps);
      double projected = 0.0;
      for (std::size_t e = 0; e < u.size(); ++e) projected += analytic[k][e] * u[e];
      compare.add(checked[k], -1, x.shape(), projected, numeric);
      continue;
    }
    for (std::int64_t e = 0; e < x.numel(); ++e) {
      const double original = access.get(e);
      access.set(e, original + options.eps);
      const double plus = dot(call(fn, inputs), cotangent);
      access.set(e, original - options.eps);
      const double minus = dot(call(fn, inputs), cotangent);
      access.set(e, original);
      compare.add(checked[k], e, x.shape(), analytic[k][static_cast<std::size_t>(e)], (plus - minus) / (2.0 * options.eps));
    }
  }
  if (!compare.within()) {
    const bool unassigned = std::isnan(report.worst_analytic) && std::isfinite(report.worst_numeric);
    report.failed_check = unassigned ? "unassigned gradient" : (options.fast_mode ? "fast mode" : "first order");
  } else if (!failures.empty()) {
    report.failed_check = failures.front().substr(0, failures.front().find(':'));
  }
  report.ok = report.failed_check.empty();
  const std::string worst =
      report.worst_index >= 0
          ? fmt::format("input {} element {} at {}", report.worst_input, report.worst_index, str(report.worst_position))
          : fmt::format("input {} projection u^T J v", report.worst_input);
  report.message = fmt::format(
      "gradcheck {}{}: {} {} in {} inputs, max abs error {:.3g}, max rel error {:.3g} (atol {:g}, rtol {:g}); "
      "worst: {}: analytic {:.10g} vs numeric {:.10g}",
      report.ok ? "passed" : "FAILED", report.ok ? "" : " (" + report.failed_check + ")", report.checked_elements,
      options.fast_mode ? "projections" : "elements", checked.size(), report.max_abs_error, report.max_rel_error, atol,
      rtol, worst, report.worst_analytic, report.worst_numeric);
  if (report.failed_check == "unassigned gradient")
    report.message += "; the analytic gradient is NaN there: backward left that element unwritten";
  for (const std::string& f : failures) report.message += "; " + f;
  return report;
}

namespace {

// A random leaf of `shape` that requires grad and, with two dims or more, is not
// contiguous (a transposed view), so that backward code reading a grad output
// as if it were contiguous is caught.
Tensor random_grad_output(const Shape& shape, DType dtype, std::uint64_t seed) {
  NoGradGuard no_grad;
  Shape base_shape = shape;
  const bool transpose = shape.size() >= 2 && shape[shape.size() - 1] > 1 && shape[shape.size() - 2] > 1;
  if (transpose) std::swap(base_shape[base_shape.size() - 1], base_shape[base_shape.size() - 2]);
  const std::vector<double> values = normal_values(detail::shape_numel(shape), seed);
  Tensor v = tensor_of(values, base_shape, dtype);
  if (transpose) v = v.transpose(-1, -2);
  v.requires_grad_();
  return v;
}

}  // namespace

GradcheckReport gradgradcheck(const GradcheckFunction& fn, const std::vector<Tensor>& inputs, GradcheckOptions options) {
  std::vector<std::size_t> checked;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) fail<ValueError>("gradgradcheck: input {} is an undefined tensor", i);
    if (inputs[i].requires_grad()) checked.push_back(i);
  }
  if (checked.empty()) fail<ValueError>("gradgradcheck: no input requires grad, so there is nothing to check");
  Tensor y0;
  {
    NoGradGuard no_grad;
    y0 = call(fn, inputs);
  }
  const Tensor v = random_grad_output(y0.shape(), y0.dtype(), options.seed + 1);
  const std::size_t n = inputs.size();

  // (inputs..., v) -> the first-order gradients, flattened and joined.
  const GradcheckFunction first_order = [&](const std::vector<Tensor>& in) {
    const bool record = is_grad_enabled();  // off in gradcheck's numeric pass
    detail::GradModeGuard enable(true);
    const std::vector<Tensor> xs(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
    const Tensor y = call(fn, xs);
    std::vector<Tensor> wrt;
    for (std::size_t i : checked) wrt.push_back(xs[i]);
    std::vector<Tensor> grads(wrt.size());
    if (y.requires_grad())
      grads = autograd::grad({y}, wrt, {in[n]}, {.create_graph = record, .allow_unused = true});
    std::vector<Tensor> flat;
    for (std::size_t k = 0; k < wrt.size(); ++k)
      flat.push_back(grads[k].defined() ? grads[k].reshape({-1}) : zeros({wrt[k].numel()}, {.dtype = wrt[k].dtype()}));
    Tensor joined = cat(flat, 0);
    if (!record) joined = joined.detach();
    return joined;
  };
  std::vector<Tensor> extended = inputs;
  extended.push_back(v);
  // The first-order function of (inputs, v) is checked as gradcheck checks any
  // function; its own forward mode would need tangents through a backward.
  options.check_forward_ad = false;
  GradcheckReport report = gradcheck(first_order, extended, options);
  if (report.failed_check == "first order") report.failed_check = "second order";
  else if (!report.failed_check.empty()) report.failed_check += " (second order)";
  const std::string what = report.worst_input == n ? std::string("the grad output") : fmt::format("input {}", report.worst_input);
  report.message = fmt::format("gradgradcheck (second order, worst in {}): {}", what, report.message);
  return report;
}

std::ostream& operator<<(std::ostream& os, const GradcheckReport& report) { return os << report.message; }

}  // namespace xgrad
