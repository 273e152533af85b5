#include "xgrad/gradcheck.hpp"

#include <cmath>
#include <ostream>

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

  // The cotangent, from a private generator so the user's random stream is untouched.
  std::vector<double> cotangent;
  {
    NoGradGuard no_grad;
    const std::int64_t n = call(fn, inputs).numel();
    Generator gen(options.seed);
    for (std::int64_t k = 0; k < n; k += 2) {
      double a = 0, b = 0;
      gen.normal_pair(a, b);
      cotangent.push_back(a);
      if (k + 1 < n) cotangent.push_back(b);
    }
  }

  GradcheckReport report;
  const auto analytic = analytic_gradients(fn, inputs, checked, cotangent);

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
        if (std::abs(again[k][e] - expected) > tolerance * (1.0 + std::abs(expected))) report.accumulates = false;
      }
    for (std::size_t i : checked) inputs[i].set_grad(Tensor());
  }

  // Central differences, element by element.
  NoGradGuard no_grad;
  double worst_ratio = -1.0;
  for (std::size_t k = 0; k < checked.size(); ++k) {
    const Tensor& x = inputs[checked[k]];
    const ElementAccess access{x};
    for (std::int64_t e = 0; e < x.numel(); ++e) {
      const double original = access.get(e);
      access.set(e, original + options.eps);
      const double plus = dot(call(fn, inputs), cotangent);
      access.set(e, original - options.eps);
      const double minus = dot(call(fn, inputs), cotangent);
      access.set(e, original);
      const double numeric = (plus - minus) / (2.0 * options.eps);
      const double a = analytic[k][static_cast<std::size_t>(e)];
      const double error = std::abs(a - numeric);
      const double ratio = error / (atol + rtol * std::abs(numeric));
      // NaN (from a NaN gradient) must win, and std::max would drop it.
      const double rel = error / std::max(std::abs(numeric), atol);
      if (std::isnan(error) || error > report.max_abs_error) report.max_abs_error = error;
      if (std::isnan(rel) || rel > report.max_rel_error) report.max_rel_error = rel;
      ++report.checked_elements;
      if (ratio > worst_ratio || std::isnan(ratio)) {
        worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
        report.worst_input = checked[k];
        report.worst_index = e;
        report.worst_position = detail::unravel_index(e, x.shape());
        report.worst_analytic = a;
        report.worst_numeric = numeric;
      }
    }
  }

  const bool within = worst_ratio <= 1.0;
  report.ok = within && report.accumulates;
  report.message = fmt::format(
      "gradcheck {}: {} elements in {} inputs, max abs error {:.3g}, max rel error {:.3g} (atol {:g}, rtol {:g}); "
      "worst: input {} element {} at {}: analytic {:.10g} vs numeric {:.10g}{}",
      report.ok ? "passed" : "FAILED", report.checked_elements, checked.size(), report.max_abs_error,
      report.max_rel_error, atol, rtol, report.worst_input, report.worst_index, str(report.worst_position),
      report.worst_analytic, report.worst_numeric,
      report.accumulates ? "" : "; backward does not accumulate into pre-filled gradients");
  return report;
}

namespace {

// Grad mode on for a scope, whatever the caller's (gradgradcheck's function runs
// a backward even inside gradcheck's NoGrad numeric pass).
class EnableGrad {
 public:
  EnableGrad() : previous_(is_grad_enabled()) { set_grad_enabled(true); }
  ~EnableGrad() { set_grad_enabled(previous_); }
  EnableGrad(const EnableGrad&) = delete;
  EnableGrad& operator=(const EnableGrad&) = delete;

 private:
  bool previous_;
};

// A random leaf of `shape` that requires grad and, with two dims or more, is not
// contiguous (a transposed view), so that backward code reading a grad output
// as if it were contiguous is caught.
Tensor random_grad_output(const Shape& shape, DType dtype, std::uint64_t seed) {
  NoGradGuard no_grad;
  Shape base_shape = shape;
  const bool transpose = shape.size() >= 2 && shape[shape.size() - 1] > 1 && shape[shape.size() - 2] > 1;
  if (transpose) std::swap(base_shape[base_shape.size() - 1], base_shape[base_shape.size() - 2]);
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  std::vector<double> values(static_cast<std::size_t>(n));
  Generator gen(seed);
  for (std::size_t k = 0; k < values.size(); k += 2) {
    double a = 0, b = 0;
    gen.normal_pair(a, b);
    values[k] = a;
    if (k + 1 < values.size()) values[k + 1] = b;
  }
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
    EnableGrad enable;
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
  GradcheckReport report = gradcheck(first_order, extended, options);
  const std::string what = report.worst_input == n ? std::string("the grad output") : fmt::format("input {}", report.worst_input);
  report.message = fmt::format("gradgradcheck (second order, worst in {}): {}", what, report.message);
  return report;
}

std::ostream& operator<<(std::ostream& os, const GradcheckReport& report) { return os << report.message; }

}  // namespace xgrad
