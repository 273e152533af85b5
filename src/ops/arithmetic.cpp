// + - * / (tensor-tensor with broadcasting, and with scalars), neg, pow.
// Broadcasting backward: each input's gradient is summed back to its shape.

#include <cmath>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "xgrad/ops/math.hpp"
#include "xgrad/ops/reduction.hpp"
#include "xgrad/ops/shape.hpp"
#include "ops/trace.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::SavedTensor;
using detail::str;

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    // Align from the right.
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      fail<ShapeError>("{}: shapes {} and {} cannot be broadcast together (dim {}: {} vs {})", op, str(a), str(b),
                       i, da, db);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace detail {

Tensor broadcast_view(const char* op, const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  if (t.dim() > static_cast<std::int64_t>(shape.size()))
    fail<ShapeError>("{}: cannot broadcast shape {} to {}", op, str(t.shape()), str(shape));
  const std::size_t lead = shape.size() - t.shape().size();
  Shape strides(shape.size(), 0);
  for (std::size_t i = 0; i < t.shape().size(); ++i) {
    const std::int64_t have = t.shape()[i];
    if (have == shape[lead + i]) {
      strides[lead + i] = t.strides()[i];
    } else if (have != 1) {
      fail<ShapeError>("{}: cannot broadcast shape {} to {}", op, str(t.shape()), str(shape));
    }
  }
  return make_view(t, shape, strides, t.storage_offset());
}

}  // namespace detail

Tensor sum_to(const Tensor& t, const Shape& shape) {
  detail::check_defined("sum_to", t);
  if (t.shape() == shape) return t;
  if (shape.size() > t.shape().size() || broadcast_shapes("sum_to", shape, t.shape()) != t.shape())
    fail<ShapeError>("sum_to: shape {} does not broadcast to the tensor's shape {}", str(shape), str(t.shape()));
  const std::size_t lead = t.shape().size() - shape.size();
  std::vector<std::int64_t> dims;
  for (std::size_t i = 0; i < t.shape().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && t.shape()[i] != 1)) dims.push_back(static_cast<std::int64_t>(i));
  Tensor reduced = sum(t, Dims(dims), /*keepdim=*/true);
  return reshape(reduced, shape);
}

Tensor add(const Tensor& a, const Tensor& b) {
  return detail::trace::traced(
      "add",
      [&]() -> Tensor {
        Tensor out = detail::binary_map("add", a, b, [](auto x, auto y) { return x + y; });
        if (!detail::any_requires_grad({a, b})) return out;
        return detail::record("AddBackward", {a, b}, out, [sa = a.shape(), sb = b.shape()](const BackwardArgs& args) {
          const Tensor& g = args.grad();
          return std::vector<Tensor>{args.needs_grad(0) ? sum_to(g, sa) : Tensor(),
                                     args.needs_grad(1) ? sum_to(g, sb) : Tensor()};
        });
      },
      detail::trace::inputs(a, b));
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return detail::trace::traced(
      "sub",
      [&]() -> Tensor {
        Tensor out = detail::binary_map("sub", a, b, [](auto x, auto y) { return x - y; });
        if (!detail::any_requires_grad({a, b})) return out;
        return detail::record("SubBackward", {a, b}, out, [sa = a.shape(), sb = b.shape()](const BackwardArgs& args) {
          const Tensor& g = args.grad();
          return std::vector<Tensor>{args.needs_grad(0) ? sum_to(g, sa) : Tensor(),
                                     args.needs_grad(1) ? sum_to(neg(g), sb) : Tensor()};
        });
      },
      detail::trace::inputs(a, b));
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return detail::trace::traced(
      "mul",
      [&]() -> Tensor {
        Tensor out = detail::binary_map("mul", a, b, [](auto x, auto y) { return x * y; });
        if (!detail::any_requires_grad({a, b})) return out;
        return detail::record(
            "MulBackward", {a, b}, out, [sa = SavedTensor(a), sb = SavedTensor(b)](const BackwardArgs& args) {
              // d(a*b)/da = b, d(a*b)/db = a
              const Tensor& g = args.grad();
              const Tensor va = sa.unpack("MulBackward"), vb = sb.unpack("MulBackward");
              return std::vector<Tensor>{args.needs_grad(0) ? sum_to(mul(g, vb), va.shape()) : Tensor(),
                                         args.needs_grad(1) ? sum_to(mul(g, va), vb.shape()) : Tensor()};
            });
      },
      detail::trace::inputs(a, b));
}

Tensor div(const Tensor& a, const Tensor& b) {
  return detail::trace::traced(
      "div",
      [&]() -> Tensor {
        Tensor out = detail::binary_map("div", a, b, [](auto x, auto y) { return x / y; });
        if (!detail::any_requires_grad({a, b})) return out;
        return detail::record(
            "DivBackward", {a, b}, out,
            [sa = a.shape(), sb = SavedTensor(b), so = SavedTensor::output(out)](const BackwardArgs& args) {
              // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -out/b (no b^2 to overflow)
              const Tensor& g = args.grad();
              const Tensor vb = sb.unpack("DivBackward");
              Tensor ga, gb;
              if (args.needs_grad(0)) ga = sum_to(div(g, vb), sa);
              if (args.needs_grad(1)) gb = sum_to(neg(div(mul(g, so.unpack("DivBackward")), vb)), vb.shape());
              return std::vector<Tensor>{ga, gb};
            });
      },
      detail::trace::inputs(a, b));
}

namespace {

// A tensor-scalar op out = f(x) whose derivative is the constant `slope`.
// Each op keeps its own f, so rounding and signed zeros are exactly those of
// the plain expression (x / b, not x * (1 / b); -x, not -1 * x + 0).
template <class F>
Tensor linear_in_x(const char* op, const char* node, const Tensor& x, double slope, F f) {
  Tensor out = detail::unary_map(op, x, f);
  if (!detail::any_requires_grad({x})) return out;
  return detail::record(node, {x}, out, [slope](const BackwardArgs& args) {
    return std::vector<Tensor>{slope == 1.0 ? args.grad() : mul(args.grad(), slope)};
  });
}

template <class T>
T as(T, double v) {
  return static_cast<T>(v);
}

}  // namespace

Tensor add(const Tensor& a, double b) {
  return detail::trace::traced(
      "add",
      [&]() -> Tensor { return linear_in_x("add", "AddScalarBackward", a, 1.0, [b](auto v) { return v + as(v, b); }); },
      [&](const detail::trace::Scope& s, const Tensor&) {
        return detail::trace::Call{{a, s.constant(b, a)}};
      });
}
Tensor sub(const Tensor& a, double b) {
  return detail::trace::traced(
      "sub",
      [&]() -> Tensor { return linear_in_x("sub", "SubScalarBackward", a, 1.0, [b](auto v) { return v - as(v, b); }); },
      [&](const detail::trace::Scope& s, const Tensor&) {
        return detail::trace::Call{{a, s.constant(b, a)}};
      });
}
Tensor mul(const Tensor& a, double b) {
  return detail::trace::traced(
      "mul",
      [&]() -> Tensor { return linear_in_x("mul", "MulScalarBackward", a, b, [b](auto v) { return v * as(v, b); }); },
      [&](const detail::trace::Scope& s, const Tensor&) {
        return detail::trace::Call{{a, s.constant(b, a)}};
      });
}
Tensor div(const Tensor& a, double b) {
  return detail::trace::traced(
      "div",
      [&]() -> Tensor {
        return linear_in_x("div", "DivScalarBackward", a, 1.0 / b, [b](auto v) { return v / as(v, b); });
      },
      [&](const detail::trace::Scope& s, const Tensor&) {
        return detail::trace::Call{{a, s.constant(b, a)}};
      });
}
Tensor rsub(const Tensor& a, double b) {
  return detail::trace::traced(
      "sub",
      [&]() -> Tensor {
        return linear_in_x("rsub", "RsubScalarBackward", a, -1.0, [b](auto v) { return as(v, b) - v; });
      },
      [&](const detail::trace::Scope& s, const Tensor&) {
        return detail::trace::Call{{s.constant(b, a), a}};
      });
}
Tensor neg(const Tensor& x) {
  return detail::trace::traced(
      "neg", [&]() -> Tensor { return linear_in_x("neg", "NegBackward", x, -1.0, [](auto v) { return -v; }); },
      detail::trace::inputs(x));
}

Tensor rdiv(const Tensor& a, double b) {
  return detail::trace::traced(
      "div",
      [&]() -> Tensor {
        Tensor out = detail::unary_map("rdiv", a, [b](auto v) { return as(v, b) / v; });
        if (!detail::any_requires_grad({a})) return out;
        return detail::record(
            "RdivScalarBackward", {a}, out,
            [sa = SavedTensor(a), so = SavedTensor::output(out)](const BackwardArgs& args) {
              // d(b/a)/da = -b/a^2 = -out/a
              const Tensor va = sa.unpack("RdivScalarBackward");
              return std::vector<Tensor>{neg(div(mul(args.grad(), so.unpack("RdivScalarBackward")), va))};
            });
      },
      [&](const detail::trace::Scope& s, const Tensor&) {
        return detail::trace::Call{{s.constant(b, a), a}};
      });
}

Tensor pow(const Tensor& x, double exponent) {
  return detail::trace::traced(
      "pow",
      [&]() -> Tensor {
        Tensor out =
            detail::unary_map("pow", x, [exponent](auto v) { return std::pow(v, static_cast<decltype(v)>(exponent)); });
        if (!detail::any_requires_grad({x})) return out;
        return detail::record("PowScalarBackward", {x}, out, [sx = SavedTensor(x), exponent](const BackwardArgs& args) {
          if (exponent == 0.0) return std::vector<Tensor>{zeros_like(args.grad())};
          const Tensor vx = sx.unpack("PowScalarBackward");
          return std::vector<Tensor>{mul(args.grad(), mul(pow(vx, exponent - 1.0), exponent))};
        });
      },
      [&](const detail::trace::Scope& s, const Tensor&) {
        return detail::trace::Call{{x, s.constant(exponent, x)}};
      });
}

namespace {

// PowBackward under create_graph, composed of differentiable ops. The masks are
// constants; where one is 0 the base or exponent is replaced by a safe value so
// that no inf or NaN enters the product (0 * inf would be NaN).
std::vector<Tensor> pow_gradients_recorded(const BackwardArgs& args, const Tensor& b, const Tensor& e) {
  const Tensor& g = args.grad();
  Tensor gb, ge;
  if (args.needs_grad(0)) {
    const Tensor live = detail::unary_map("PowBackward", e, [](auto v) { return decltype(v)(v != 0); });
    const Tensor exponent = add(mul(sub(e, 1.0), live), rsub(live, 1.0));  // e - 1 where live, else 1
    gb = sum_to(mul(g, mul(live, mul(e, pow(b, exponent)))), b.shape());
  }
  if (args.needs_grad(1)) {
    const Tensor live = detail::binary_map("PowBackward", b, e, [](auto x, auto y) { return decltype(x)(!(x == 0 && y >= 0)); });
    const Tensor base = add(mul(b, live), rsub(live, 1.0));  // b where live, else 1 (log 1 = 0)
    ge = sum_to(mul(g, mul(live, mul(pow(base, e), log(base)))), e.shape());
  }
  return {gb, ge};
}

}  // namespace

Tensor pow(const Tensor& base, const Tensor& exponent) {
  return detail::trace::traced(
      "pow",
      [&]() -> Tensor {
        Tensor out = detail::binary_map("pow", base, exponent, [](auto b, auto e) { return std::pow(b, e); });
        if (!detail::any_requires_grad({base, exponent})) return out;
        return detail::record(
            "PowBackward", {base, exponent}, out,
            [sb = SavedTensor(base), se = SavedTensor(exponent)](const BackwardArgs& args) {
              const Tensor& g = args.grad();
              const Tensor vb = sb.unpack("PowBackward"), ve = se.unpack("PowBackward");
              Tensor gb, ge;
              // d(b^e)/db = e * b^(e-1), taken as 0 where e == 0 (so 0^0 has gradient 0);
              // d(b^e)/de = b^e * log(b), taken as 0 where b == 0 and e >= 0 (as PyTorch).
              if (detail::creating_graph()) return pow_gradients_recorded(args, vb, ve);
              if (args.needs_grad(0))
                gb = sum_to(
                    mul(g, detail::binary_map("PowBackward", vb, ve,
                                              [](auto b, auto e) { return e == 0 ? 0 * e : e * std::pow(b, e - 1); })),
                    vb.shape());
              if (args.needs_grad(1))
                ge = sum_to(mul(g, detail::binary_map("PowBackward", vb, ve,
                                                      [](auto b, auto e) {
                                                        return b == 0 && e >= 0 ? 0 * e : std::pow(b, e) * std::log(b);
                                                      })),
                            ve.shape());
              return std::vector<Tensor>{gb, ge};
            });
      },
      detail::trace::inputs(base, exponent));
}

// Operators
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(double a, const Tensor& b) { return rsub(b, a); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(double a, const Tensor& b) { return rdiv(b, a); }
Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace xgrad
