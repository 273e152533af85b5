// Views: new shape/strides/offset over the same storage. Each records a node
// whose backward maps the gradient of the view back to the base's shape.

#include <numeric>
#include <optional>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "xgrad/ops/arithmetic.hpp"
#include "xgrad/ops/shape.hpp"
#include "ops/trace.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::str;
using detail::wrap_dim;

namespace {

// Wraps a view's output in a node whose backward is `to_input(grad)`.
template <class F>
Tensor record_view(const char* node, const Tensor& x, Tensor view, F to_input) {
  if (!detail::any_requires_grad({x})) return view;
  return detail::record(node, {x}, std::move(view),
                        [to_input](const BackwardArgs& args) { return std::vector<Tensor>{to_input(args.grad())}; });
}

// slice, narrow and select index into a dim, which a 0-d tensor does not have.
void check_has_dims(const char* op, const Tensor& x) {
  if (x.dim() == 0) fail<ShapeError>("{}: cannot be applied to a 0-d tensor", op);
}

Shape infer_shape(const char* op, const Shape& from, Shape to) {
  std::int64_t known = 1;
  std::optional<std::size_t> infer;
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (to[i] == -1) {
      if (infer) fail<ShapeError>("{}: only one dim can be -1, got {}", op, str(to));
      infer = i;
    } else if (to[i] < 0) {
      fail<ShapeError>("{}: invalid size {} in shape {}", op, to[i], str(to));
    } else {
      known *= to[i];
    }
  }
  const std::int64_t numel = detail::shape_numel(from);
  if (infer) {
    if (known == 0 || numel % known != 0)
      fail<ShapeError>("{}: cannot reshape a tensor of shape {} ({} elements) into {}", op, str(from), numel, str(to));
    to[*infer] = numel / known;
  }
  if (detail::shape_numel(to) != numel)
    fail<ShapeError>("{}: cannot reshape a tensor of shape {} ({} elements) into {}", op, str(from), numel, str(to));
  return to;
}

// Strides that let `shape` view memory laid out as (old_shape, old_strides), or
// nothing when that needs a copy. Old and new dims are matched in groups of equal
// product; inside a group the old dims must be contiguous with each other.
std::optional<Shape> view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& shape) {
  if (detail::shape_numel(shape) == 0) return detail::contiguous_strides(shape);
  Shape os, ost;
  for (std::size_t i = 0; i < old_shape.size(); ++i)
    if (old_shape[i] != 1) {
      os.push_back(old_shape[i]);
      ost.push_back(old_strides[i]);
    }
  Shape strides(shape.size(), 1);
  std::size_t oi = 0, ni = 0;
  while (ni < shape.size()) {
    if (shape[ni] == 1) {
      ++ni;
      continue;
    }
    std::int64_t new_product = shape[ni], old_product = os[oi];
    std::size_t nj = ni + 1, oj = oi + 1;
    while (new_product != old_product) {
      if (new_product < old_product) {
        new_product *= shape[nj++];
      } else {
        old_product *= os[oj++];
      }
    }
    for (std::size_t k = oi; k + 1 < oj; ++k)
      if (ost[k] != ost[k + 1] * os[k + 1]) return std::nullopt;
    std::int64_t stride = ost[oj - 1];
    for (std::size_t k = nj; k-- > ni;) {
      strides[k] = stride;
      stride *= shape[k];
    }
    ni = nj;
    oi = oj;
  }
  return strides;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) {
  return detail::trace::traced(
      "reshape",
      [&]() -> Tensor {
        detail::check_defined("view", x);
        const Shape target = infer_shape("view", x.shape(), shape);
        const auto strides = view_strides(x.shape(), x.strides(), target);
        if (!strides)
          fail<ShapeError>(
              "view: a tensor of shape {} with strides {} cannot be viewed as {} without a copy; use reshape",
              str(x.shape()), str(x.strides()), str(target));
        return record_view("ViewBackward", x, detail::make_view(x, target, *strides, x.storage_offset()),
                           [in = x.shape()](const Tensor& g) { return reshape(g, in); });
      },
      [&](const detail::trace::Scope&, const Tensor& out) {
        return detail::trace::Call{{x}, {{"shape", out.shape()}}};
      });
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  return detail::trace::traced(
      "reshape",
      [&]() -> Tensor {
        detail::check_defined("reshape", x);
        const Shape target = infer_shape("reshape", x.shape(), shape);
        if (view_strides(x.shape(), x.strides(), target)) return view(x, target);
        return view(contiguous(x), target);
      },
      [&](const detail::trace::Scope&, const Tensor& out) {
        return detail::trace::Call{{x}, {{"shape", out.shape()}}};
      });
}

Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim) {
  return detail::trace::traced(
      "flatten",
      [&]() -> Tensor {
        detail::check_defined("flatten", x);
        if (x.dim() == 0) return reshape(x, {1});
        const std::int64_t start = wrap_dim("flatten", start_dim, x.dim());
        const std::int64_t end = wrap_dim("flatten", end_dim, x.dim());
        if (start > end) fail<ValueError>("flatten: start_dim {} comes after end_dim {}", start_dim, end_dim);
        Shape shape(x.shape().begin(), x.shape().begin() + start);
        std::int64_t merged = 1;
        for (std::int64_t d = start; d <= end; ++d) merged *= x.shape()[static_cast<std::size_t>(d)];
        shape.push_back(merged);
        shape.insert(shape.end(), x.shape().begin() + end + 1, x.shape().end());
        return reshape(x, shape);
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"start_dim", start_dim}, {"end_dim", end_dim}}};
      });
}

Tensor permute(const Tensor& x, const Shape& dims) {
  return detail::trace::traced(
      "permute",
      [&]() -> Tensor {
        detail::check_defined("permute", x);
        if (static_cast<std::int64_t>(dims.size()) != x.dim())
          fail<ValueError>("permute: {} dims given for a tensor of shape {}", dims.size(), str(x.shape()));
        Shape shape(dims.size()), strides(dims.size()), inverse(dims.size());
        std::vector<bool> used(dims.size(), false);
        for (std::size_t i = 0; i < dims.size(); ++i) {
          const auto d = static_cast<std::size_t>(wrap_dim("permute", dims[i], x.dim()));
          if (used[d]) fail<ValueError>("permute: dim {} repeats in {}", d, str(dims));
          used[d] = true;
          shape[i] = x.shape()[d];
          strides[i] = x.strides()[d];
          inverse[d] = static_cast<std::int64_t>(i);
        }
        return record_view("PermuteBackward", x, detail::make_view(x, shape, strides, x.storage_offset()),
                           [inverse](const Tensor& g) { return permute(g, inverse); });
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"dims", dims}}};
      });
}

Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1) {
  return detail::trace::traced(
      "transpose",
      [&]() -> Tensor {
        detail::check_defined("transpose", x);
        if (x.dim() == 0) return x;
        Shape dims(static_cast<std::size_t>(x.dim()));
        std::iota(dims.begin(), dims.end(), 0);
        std::swap(dims[static_cast<std::size_t>(wrap_dim("transpose", dim0, x.dim()))],
                  dims[static_cast<std::size_t>(wrap_dim("transpose", dim1, x.dim()))]);
        return permute(x, dims);
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"dim0", dim0}, {"dim1", dim1}}};
      });
}

Tensor squeeze(const Tensor& x) {
  return detail::trace::traced(
      "reshape",
      [&]() -> Tensor {
        detail::check_defined("squeeze", x);
        Shape shape;
        for (std::int64_t s : x.shape())
          if (s != 1) shape.push_back(s);
        return reshape(x, shape);
      },
      [&](const detail::trace::Scope&, const Tensor& out) {
        return detail::trace::Call{{x}, {{"shape", out.shape()}}};
      });
}

Tensor squeeze(const Tensor& x, std::int64_t dim) {
  return detail::trace::traced(
      "reshape",
      [&]() -> Tensor {
        detail::check_defined("squeeze", x);
        const auto d = static_cast<std::size_t>(wrap_dim("squeeze", dim, x.dim()));  // a 0-d tensor takes 0 and -1
        if (x.dim() == 0) return x;
        if (x.shape()[d] != 1) return x;
        Shape shape = x.shape();
        shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(d));
        return reshape(x, shape);
      },
      [&](const detail::trace::Scope&, const Tensor& out) {
        return detail::trace::Call{{x}, {{"shape", out.shape()}}};
      });
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  return detail::trace::traced(
      "reshape",
      [&]() -> Tensor {
        detail::check_defined("unsqueeze", x);
        const auto d = static_cast<std::size_t>(wrap_dim("unsqueeze", dim, x.dim() + 1));
        Shape shape = x.shape();
        shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(d), 1);
        return reshape(x, shape);
      },
      [&](const detail::trace::Scope&, const Tensor& out) {
        return detail::trace::Call{{x}, {{"shape", out.shape()}}};
      });
}

Tensor expand(const Tensor& x, const Shape& shape) {
  detail::check_defined("expand", x);
  if (shape.size() < x.shape().size())
    fail<ShapeError>("expand: cannot expand shape {} to {} (fewer dims)", str(x.shape()), str(shape));
  Shape target = shape;
  const std::size_t lead = shape.size() - x.shape().size();
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] != -1) continue;
    if (i < lead) fail<ShapeError>("expand: -1 is not allowed for the new leading dim {} in {}", i, str(shape));
    target[i] = x.shape()[i - lead];
  }
  Tensor out = detail::broadcast_view("expand", x, target);
  if (out.is_same(x)) return x;
  return record_view("ExpandBackward", x, std::move(out), [in = x.shape()](const Tensor& g) { return sum_to(g, in); });
}

namespace {

// slice's backward: g placed at positions from, from + step, ... < to of `dim` in
// zeros of shape `in`. Recorded (its own backward is the slice again), so that
// slice, narrow and select are differentiable to any order.
Tensor slice_scatter(const Tensor& g, const Shape& in, std::int64_t dim, std::int64_t from, std::int64_t to,
                     std::int64_t step) {
  Tensor grad = zeros(in, {.dtype = g.dtype()});
  {
    NoGradGuard no_grad;
    slice(grad, dim, from, to, step).copy_(g);
  }
  if (!detail::any_requires_grad({g})) return grad;
  return detail::record("SliceScatterBackward", {g}, grad, [dim, from, to, step](const BackwardArgs& args) {
    return std::vector<Tensor>{slice(args.grad(), dim, from, to, step)};
  });
}

}  // namespace

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  return detail::trace::traced(
      "slice",
      [&]() -> Tensor {
        detail::check_defined("slice", x);
        check_has_dims("slice", x);
        if (step < 1) fail<ValueError>("slice: step must be positive, got {}", step);
        const auto d = static_cast<std::size_t>(wrap_dim("slice", dim, x.dim()));
        const std::int64_t size = x.shape()[d];
        auto clamp_index = [size](std::int64_t i) {
          if (i < 0) i += size;
          return std::clamp<std::int64_t>(i, 0, size);
        };
        const std::int64_t from = clamp_index(start);
        const std::int64_t to = std::max(from, clamp_index(end));
        Shape shape = x.shape(), strides = x.strides();
        shape[d] = (to - from + step - 1) / step;
        strides[d] *= step;
        Tensor out = detail::make_view(x, shape, strides, x.storage_offset() + from * x.strides()[d]);
        return record_view("SliceBackward", x, std::move(out),
                           [in = x.shape(), dim = static_cast<std::int64_t>(d), from, to, step](const Tensor& g) {
                             return slice_scatter(g, in, dim, from, to, step);
                           });
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"dim", dim}, {"start", start}, {"end", end}, {"step", step}}};
      });
}

Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  detail::check_defined("narrow", x);
  check_has_dims("narrow", x);
  const auto d = static_cast<std::size_t>(wrap_dim("narrow", dim, x.dim()));
  const std::int64_t size = x.shape()[d];
  const std::int64_t from = start < 0 ? start + size : start;
  if (from < 0 || length < 0 || from + length > size)
    fail<ValueError>("narrow: start {} and length {} do not fit in dim {} of size {} (shape {})", start, length, d,
                     size, str(x.shape()));
  return slice(x, dim, from, from + length);
}

Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index) {
  detail::check_defined("select", x);
  check_has_dims("select", x);
  const auto d = static_cast<std::size_t>(wrap_dim("select", dim, x.dim()));
  const std::int64_t size = x.shape()[d];
  if (index < -size || index >= size)
    fail<ValueError>("select: index {} is out of range for dim {} of size {} (shape {})", index, d, size,
                     str(x.shape()));
  if (index < 0) index += size;
  return squeeze(narrow(x, dim, index, 1), dim);
}

Tensor contiguous(const Tensor& x) {
  return detail::trace::traced(
      "identity",
      [&]() -> Tensor {
        detail::check_defined("contiguous", x);
        if (x.is_contiguous()) return x;
        Tensor out = detail::copy_as(x, x.dtype());
        return record_view("ContiguousBackward", x, std::move(out), [](const Tensor& g) { return g; });
      },
      detail::trace::inputs(x));
}

}  // namespace xgrad
