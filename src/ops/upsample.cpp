// Nearest and bilinear resizing of [N, C, H, W] maps (ops/upsample.hpp): index
// maps computed once per call, plane loops threaded over N * C, and the
// transposed scatter as the gradient.

#include "xgrad/ops/upsample.hpp"

#include <algorithm>
#include <cmath>

#include "autograd/record.hpp"
#include "kernels/bilinear.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "util/dispatch.hpp"
#include "util/parallel.hpp"
#include "xgrad/ops/shape.hpp"
#include "ops/trace.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::str;
using kernels::LinearTap;

namespace {

constexpr std::int64_t kChunkWork = std::int64_t{1} << 15;  // output elements per thread chunk, at least

// The output's spatial size, and the scale factors interpolate was given (0: none).
struct Target {
  std::int64_t height = 0, width = 0;
  double height_factor = 0.0, width_factor = 0.0;
};

// N * C planes of in_h x in_w mapped to out_h x out_w.
struct Geometry {
  std::int64_t planes, in_h, in_w, out_h, out_w;
  std::int64_t in_plane() const { return in_h * in_w; }
  std::int64_t out_plane() const { return out_h * out_w; }
};

void check_input(const char* op, const Tensor& x) {
  detail::check_defined(op, x);
  if (x.dim() != 4) fail<ShapeError>("{}: expected a 4-D input [N, C, H, W], got shape {}", op, str(x.shape()));
  if (x.size(2) == 0 || x.size(3) == 0)
    fail<ShapeError>("{}: input {} has an empty spatial dim, nothing to interpolate from", op, str(x.shape()));
  detail::check_floating(op, x);
}

Target target_size(const char* op, const std::vector<std::int64_t>& size) {
  const bool valid = (size.size() == 1 || size.size() == 2) &&
                     std::all_of(size.begin(), size.end(), [](std::int64_t s) { return s > 0; });
  if (!valid) fail<ValueError>("{}: size must be one or two positive values {{H, W}}, got {}", op, str(size));
  return {size.front(), size.back()};
}

// Output floor(in * factor) per spatial dim, remembering the factors for the coordinates.
Target target_scaled(const char* op, const Tensor& x, const std::vector<double>& factors) {
  const bool valid = (factors.size() == 1 || factors.size() == 2) &&
                     std::all_of(factors.begin(), factors.end(), [](double f) { return std::isfinite(f) && f > 0; });
  if (!valid) fail<ValueError>("{}: scale_factor must be one or two positive values {{h, w}}, got {}", op, factors);
  const double fh = factors.front(), fw = factors.back();
  const auto scaled = [](std::int64_t in, double factor) {
    return static_cast<std::int64_t>(std::floor(static_cast<double>(in) * factor));
  };
  const Target target{scaled(x.size(2), fh), scaled(x.size(3), fw), fh, fw};
  if (target.height < 1 || target.width < 1)
    fail<ValueError>("{}: scale_factor {} leaves no pixels of the input {} (output {}x{})", op, factors, str(x.shape()),
                     target.height, target.width);
  return target;
}

Geometry geometry_of(const Tensor& x, const Target& target) {
  return {x.size(0) * x.size(1), x.size(2), x.size(3), target.height, target.width};
}

// x's elements as contiguous planes (copied only when x is a strided view), off the graph.
Tensor contiguous_data(const Tensor& x) {
  NoGradGuard no_grad;
  return contiguous(x);
}

// Runs plane_fn(p) for every plane, the planes split across threads when there is enough work.
template <class F>
void for_each_plane(const Geometry& g, F plane_fn) {
  const std::int64_t grain = std::max<std::int64_t>(1, kChunkWork / std::max<std::int64_t>(g.out_plane(), 1));
  detail::parallel_for(0, g.planes, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) plane_fn(p);
  });
}

// ---- nearest ---------------------------------------------------------------------------

// PyTorch's nearest rule: o reads floor(o * scale), scale = 1 / scale_factor when
// the caller gave one, else in / out, computed in float as PyTorch does. There
// is no short cut for out == in or 2 * in: with a scale factor such as 1.25 on
// a size-3 dim (out 3) the indices are 0, 0, 1, not 0, 1, 2.
std::vector<std::int64_t> nearest_indices(std::int64_t in, std::int64_t out, double factor) {
  const float scale =
      factor > 0.0 ? static_cast<float>(1.0 / factor) : static_cast<float>(in) / static_cast<float>(out);
  std::vector<std::int64_t> indices(static_cast<std::size_t>(out));
  for (std::int64_t o = 0; o < out; ++o)
    indices[static_cast<std::size_t>(o)] =
        std::min(static_cast<std::int64_t>(std::floor(static_cast<float>(o) * scale)), in - 1);
  return indices;
}

struct NearestMaps {
  std::vector<std::int64_t> rows, cols;  // the input row (column) each output row (column) reads
};

NearestMaps nearest_maps(const Geometry& g, const Target& target) {
  return {nearest_indices(g.in_h, g.out_h, target.height_factor),
          nearest_indices(g.in_w, g.out_w, target.width_factor)};
}

template <class T>
void nearest_forward(const Geometry& g, const NearestMaps& maps, const T* input, T* output) {
  for_each_plane(g, [&](std::int64_t p) {
    const T* in = input + p * g.in_plane();
    T* out = output + p * g.out_plane();
    for (const std::int64_t row : maps.rows) {
      const T* source = in + row * g.in_w;
      for (const std::int64_t col : maps.cols) *out++ = source[col];
    }
  });
}

// Each output gradient is added to the one input pixel its value came from.
template <class T>
void nearest_backward(const Geometry& g, const NearestMaps& maps, const T* grad_output, T* grad_input) {
  for_each_plane(g, [&](std::int64_t p) {
    const T* grad = grad_output + p * g.out_plane();
    T* in = grad_input + p * g.in_plane();
    std::fill(in, in + g.in_plane(), T(0));
    for (const std::int64_t row : maps.rows) {
      T* target = in + row * g.in_w;
      for (const std::int64_t col : maps.cols) target[col] += *grad++;
    }
  });
}

// Both upsampling modes are linear in x: the op applies the pair's forward, and
// its backward the adjoint, each recorded with the other as its backward
// (apply_linear), so that they are differentiable to any order.
Tensor nearest(const char* op, const Tensor& x, const Target& target) {
  const Geometry g = geometry_of(x, target);
  const NearestMaps maps = nearest_maps(g, target);
  auto pair = std::make_shared<detail::LinearPair>(detail::LinearPair{
      "UpsampleNearest2dBackward", "UpsampleNearest2dBackwardBackward",
      [g, maps, op](const Tensor& v) {
        const Tensor input = contiguous_data(v);
        Tensor out = detail::make_tensor({v.size(0), v.size(1), g.out_h, g.out_w}, v.dtype());
        detail::visit_floating(v.dtype(), op, [&]<class T>() {
          nearest_forward<T>(g, maps, detail::element_ptr<T>(input), detail::element_ptr<T>(out));
        });
        return out;
      },
      [g, maps, in_shape = x.shape()](const Tensor& grad_output) {
        // grad [N, C, out_h, out_w] -> [N, C, in_h, in_w]
        const Tensor grad = contiguous(grad_output);
        Tensor grad_input = detail::make_tensor(in_shape, grad.dtype());
        detail::visit_floating(grad.dtype(), "UpsampleNearest2dBackward", [&]<class T>() {
          nearest_backward<T>(g, maps, detail::element_ptr<T>(grad), detail::element_ptr<T>(grad_input));
        });
        return grad_input;
      }});
  return detail::apply_linear(pair, x);
}

// ---- bilinear --------------------------------------------------------------------------

template <class T>
struct BilinearTaps {
  std::vector<LinearTap<T>> rows, cols;
};

template <class T>
BilinearTaps<T> bilinear_taps(const Geometry& g, const Target& target, bool align_corners) {
  return {kernels::linear_taps<T>(g.in_h, g.out_h, align_corners, target.height_factor),
          kernels::linear_taps<T>(g.in_w, g.out_w, align_corners, target.width_factor)};
}

// Along the row first, then between the two rows (PyTorch's order).
template <class T>
void bilinear_forward(const Geometry& g, const BilinearTaps<T>& taps, const T* input, T* output) {
  for_each_plane(g, [&](std::int64_t p) {
    const T* in = input + p * g.in_plane();
    T* out = output + p * g.out_plane();
    for (const LinearTap<T>& row : taps.rows) {
      const T* top = in + row.low * g.in_w;
      const T* bottom = in + row.high * g.in_w;
      for (const LinearTap<T>& col : taps.cols) {
        const T upper = top[col.low] * col.low_weight + top[col.high] * col.high_weight;
        const T lower = bottom[col.low] * col.low_weight + bottom[col.high] * col.high_weight;
        *out++ = upper * row.low_weight + lower * row.high_weight;
      }
    }
  });
}

// The transpose: each output gradient goes to its four input pixels with the
// forward's weights (row weight times column weight).
template <class T>
void bilinear_backward(const Geometry& g, const BilinearTaps<T>& taps, const T* grad_output, T* grad_input) {
  for_each_plane(g, [&](std::int64_t p) {
    const T* grad = grad_output + p * g.out_plane();
    T* in = grad_input + p * g.in_plane();
    std::fill(in, in + g.in_plane(), T(0));
    for (const LinearTap<T>& row : taps.rows) {
      T* top = in + row.low * g.in_w;
      T* bottom = in + row.high * g.in_w;
      for (const LinearTap<T>& col : taps.cols) {
        const T value = *grad++;
        top[col.low] += row.low_weight * col.low_weight * value;
        top[col.high] += row.low_weight * col.high_weight * value;
        bottom[col.low] += row.high_weight * col.low_weight * value;
        bottom[col.high] += row.high_weight * col.high_weight * value;
      }
    }
  });
}

Tensor bilinear(const char* op, const Tensor& x, const Target& target, bool align_corners) {
  const Geometry g = geometry_of(x, target);
  auto pair = std::make_shared<detail::LinearPair>(detail::LinearPair{
      "UpsampleBilinear2dBackward", "UpsampleBilinear2dBackwardBackward",
      [g, target, align_corners, op](const Tensor& v) {
        const Tensor input = contiguous_data(v);
        Tensor out = detail::make_tensor({v.size(0), v.size(1), g.out_h, g.out_w}, v.dtype());
        detail::visit_floating(v.dtype(), op, [&]<class T>() {
          bilinear_forward<T>(g, bilinear_taps<T>(g, target, align_corners), detail::element_ptr<T>(input),
                              detail::element_ptr<T>(out));
        });
        return out;
      },
      [g, target, align_corners, in_shape = x.shape()](const Tensor& grad_output) {
        // grad [N, C, out_h, out_w] -> [N, C, in_h, in_w]
        const Tensor grad = contiguous(grad_output);
        Tensor grad_input = detail::make_tensor(in_shape, grad.dtype());
        detail::visit_floating(grad.dtype(), "UpsampleBilinear2dBackward", [&]<class T>() {
          bilinear_backward<T>(g, bilinear_taps<T>(g, target, align_corners), detail::element_ptr<T>(grad),
                               detail::element_ptr<T>(grad_input));
        });
        return grad_input;
      }});
  return detail::apply_linear(pair, x);
}

}  // namespace

Tensor upsample_bilinear2d(const Tensor& input, std::vector<std::int64_t> size, bool align_corners) {
  check_input("upsample_bilinear2d", input);
  return bilinear("upsample_bilinear2d", input, target_size("upsample_bilinear2d", size), align_corners);
}

Tensor upsample_nearest2d(const Tensor& input, std::vector<std::int64_t> size) {
  check_input("upsample_nearest2d", input);
  return nearest("upsample_nearest2d", input, target_size("upsample_nearest2d", size));
}

Tensor interpolate(const Tensor& input, const InterpolateOptions& options) {
  return detail::trace::traced(
      "interpolate",
      [&]() -> Tensor {
        const char* op = "interpolate";
        if (options.mode != "nearest" && options.mode != "bilinear")
          fail<ValueError>("{}: mode must be \"nearest\" or \"bilinear\", got \"{}\"", op, options.mode);
        if (options.align_corners && options.mode == "nearest")
          fail<ValueError>("{}: align_corners applies to mode \"bilinear\" only, not \"nearest\"", op);
        if (options.size.empty() == options.scale_factor.empty())
          fail<ValueError>("{}: give either size or scale_factor (got size {} and scale_factor {})", op,
                           str(options.size), options.scale_factor);
        check_input(op, input);
        const Target target =
            options.size.empty() ? target_scaled(op, input, options.scale_factor) : target_size(op, options.size);
        return options.mode == "nearest" ? nearest(op, input, target)
                                         : bilinear(op, input, target, options.align_corners);
      },
      [&](const detail::trace::Scope&, const Tensor& out) {
        return detail::trace::Call{{input},
                                   {{"mode", options.mode},
                                    {"align_corners", std::int64_t{options.align_corners}},
                                    {"scale_factor", options.scale_factor},
                                    {"output_shape", out.shape()}}};
      });
}

}  // namespace xgrad
