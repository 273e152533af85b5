// interpolate (ops/upsample.hpp): nearest and bilinear resizing of [N, C, H, W]
// maps by fused kernels (index maps computed once per call, plane loops threaded
// over N * C, the transposed scatter as the gradient); the other modes and ranks
// by one 1-D map per spatial dim; area by adaptive average pooling.

#include "xgrad/ops/upsample.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>

#include "autograd/record.hpp"
#include "kernels/bilinear.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "util/dispatch.hpp"
#include "util/parallel.hpp"
#include "xgrad/ops/pooling.hpp"
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

// ---- any rank: one 1-D map per spatial dim ---------------------------------------------
//
// The modes other than 2-D nearest and bilinear (which keep their fused kernels
// above) resize one spatial dim at a time: output index o along a dim reads
// `taps` input indices with weights, and the N-D map is the product of the 1-D
// maps (PyTorch's kernels weigh the same taps; only the order of the sums differs).

template <class T>
struct AxisMap {
  std::int64_t in = 0, out = 0, taps = 1;
  std::vector<std::int64_t> index;  // out * taps input indices
  std::vector<T> weight;            // and their weights
  bool identity() const {
    if (in != out) return false;
    for (std::int64_t o = 0; o < out; ++o)
      for (std::int64_t k = 0; k < taps; ++k) {
        const auto at = static_cast<std::size_t>(o * taps + k);
        if (weight[at] != (index[at] == o ? T(1) : T(0))) return false;
      }
    return true;
  }
};

// The interpolate call: spatial output sizes, the scale factors the coordinates
// use (0: none, in / out), the mode and align_corners.
struct Resize {
  std::vector<std::int64_t> out;
  std::vector<double> factors;
  std::string mode;
  bool align_corners = false;
};

// nearest: floor(o * scale); nearest-exact: floor((o + 0.5) * scale); both at most
// in - 1, with PyTorch's float scale (nearest_neighbor[_exact]_compute_source_index).
template <class T>
AxisMap<T> nearest_axis(std::int64_t in, std::int64_t out, double factor, bool exact) {
  const float scale =
      factor > 0.0 ? static_cast<float>(1.0 / factor) : static_cast<float>(in) / static_cast<float>(out);
  AxisMap<T> m{in, out, 1, std::vector<std::int64_t>(static_cast<std::size_t>(out)),
               std::vector<T>(static_cast<std::size_t>(out), T(1))};
  for (std::int64_t o = 0; o < out; ++o) {
    const float source = exact ? static_cast<float>((static_cast<double>(o) + 0.5) * static_cast<double>(scale))
                               : static_cast<float>(o) * scale;
    m.index[static_cast<std::size_t>(o)] = std::min(static_cast<std::int64_t>(std::floor(source)), in - 1);
  }
  return m;
}

template <class T>
AxisMap<T> linear_axis(std::int64_t in, std::int64_t out, bool align_corners, double factor) {
  AxisMap<T> m{in, out, 2, {}, {}};
  for (const LinearTap<T>& tap : kernels::linear_taps<T>(in, out, align_corners, factor)) {
    m.index.insert(m.index.end(), {tap.low, tap.high});
    m.weight.insert(m.weight.end(), {tap.low_weight, tap.high_weight});
  }
  return m;
}

// PyTorch's bicubic (upsample_bicubic2d): source = o * (in - 1) / (out - 1) with
// align_corners, else (o + 0.5) * scale - 0.5 (not clamped at 0); taps
// floor(source) - 1 .. + 2, each clamped into [0, in - 1], weighted by Keys' cubic
// convolution with A = -0.75 at t = source - floor(source). Computed in T, as
// PyTorch does in its opmath type (float for f32).
template <class T>
AxisMap<T> cubic_axis(std::int64_t in, std::int64_t out, bool align_corners, double factor) {
  constexpr T A = T(-0.75);
  const auto near = [&](T x) { return ((A + T(2)) * x - (A + T(3))) * x * x + T(1); };       // |x| <= 1
  const auto far = [&](T x) { return ((A * x - T(5) * A) * x + T(8) * A) * x - T(4) * A; };  // 1 < |x| < 2
  T scale;
  if (align_corners)
    scale = out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  else
    scale = factor > 0.0 ? static_cast<T>(1.0 / factor) : static_cast<T>(in) / static_cast<T>(out);
  AxisMap<T> m{in, out, 4, {}, {}};
  for (std::int64_t o = 0; o < out; ++o) {
    const T index = static_cast<T>(o);
    const T source = align_corners ? scale * index : scale * (index + T(0.5)) - T(0.5);
    const T floor = std::floor(source);
    const T t = source - floor;
    const auto first = static_cast<std::int64_t>(floor) - 1;
    const T weights[4] = {far(t + T(1)), near(t), near(T(1) - t), far(T(2) - t)};
    for (std::int64_t k = 0; k < 4; ++k) {
      m.index.push_back(std::clamp<std::int64_t>(first + k, 0, in - 1));
      m.weight.push_back(weights[k]);
    }
  }
  return m;
}

template <class T>
std::vector<AxisMap<T>> axis_maps(const Shape& in_shape, const Resize& r) {
  std::vector<AxisMap<T>> maps;
  for (std::size_t d = 0; d < r.out.size(); ++d) {
    const std::int64_t in = in_shape[d + 2], out = r.out[d];
    const double factor = r.factors.empty() ? 0.0 : r.factors[d];
    if (r.mode == "nearest" || r.mode == "nearest-exact")
      maps.push_back(nearest_axis<T>(in, out, factor, r.mode == "nearest-exact"));
    else if (r.mode == "bicubic")
      maps.push_back(cubic_axis<T>(in, out, r.align_corners, factor));
    else  // linear, bilinear, trilinear
      maps.push_back(linear_axis<T>(in, out, r.align_corners, factor));
  }
  return maps;
}

// [outer, m.in, inner] -> [outer, m.out, inner] (or back, transposed: the gradient
// of each output element goes to the taps it read, with their weights).
template <class T>
void apply_axis(const AxisMap<T>& m, std::int64_t outer, std::int64_t inner, const T* src, T* dst, bool transpose) {
  const std::int64_t src_len = transpose ? m.out : m.in, dst_len = transpose ? m.in : m.out;
  const std::int64_t grain = std::max<std::int64_t>(1, kChunkWork / std::max<std::int64_t>(m.out * m.taps * inner, 1));
  detail::parallel_for(0, outer, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t a = begin; a < end; ++a) {
      const T* s = src + a * src_len * inner;
      T* d = dst + a * dst_len * inner;
      std::fill(d, d + dst_len * inner, T(0));
      for (std::int64_t o = 0; o < m.out; ++o)
        for (std::int64_t k = 0; k < m.taps; ++k) {
          const auto at = static_cast<std::size_t>(o * m.taps + k);
          const T w = m.weight[at];
          if (w == T(0)) continue;
          const std::int64_t i = m.index[at];
          const T* from = s + (transpose ? o : i) * inner;
          T* to = d + (transpose ? i : o) * inner;
          for (std::int64_t b = 0; b < inner; ++b) to[b] += w * from[b];
        }
    }
  });
}

// The maps applied along dims 0, 1, ... of [planes, spatial...] (forward), or their
// transposes in the reverse order (adjoint); `sizes` is the spatial shape of src.
template <class T>
void apply_maps(const std::vector<AxisMap<T>>& maps, std::int64_t planes, Shape sizes, const T* src, T* dst,
                bool adjoint) {
  std::vector<T> current(
      src, src + planes * std::accumulate(sizes.begin(), sizes.end(), std::int64_t{1}, std::multiplies<>())),
      next;
  const auto product = [&](std::size_t begin, std::size_t end) {
    std::int64_t p = 1;
    for (std::size_t d = begin; d < end; ++d) p *= sizes[d];
    return p;
  };
  for (std::size_t step = 0; step < maps.size(); ++step) {
    const std::size_t d = adjoint ? maps.size() - 1 - step : step;
    const AxisMap<T>& m = maps[d];
    if (m.identity()) continue;
    const std::int64_t outer = planes * product(0, d), inner = product(d + 1, sizes.size());
    sizes[d] = adjoint ? m.in : m.out;
    next.assign(static_cast<std::size_t>(outer * sizes[d] * inner), T(0));
    apply_axis(m, outer, inner, current.data(), next.data(), adjoint);
    std::swap(current, next);
  }
  std::copy(current.begin(), current.end(), dst);
}

// "UpsampleBicubic2dBackward" and the like.
std::string node_name(const std::string& mode, std::size_t dims) {
  const std::string kind = mode == "nearest"         ? "Nearest"
                           : mode == "nearest-exact" ? "NearestExact"
                           : mode == "linear"        ? "Linear"
                           : mode == "bicubic"       ? "Bicubic"
                                                     : "Trilinear";
  return "Upsample" + kind + std::to_string(dims) + "dBackward";
}

Tensor separable(const char* op, const Tensor& x, const Resize& r) {
  const std::string name = node_name(r.mode, r.out.size());
  const Shape in_shape = x.shape();
  Shape out_shape{x.size(0), x.size(1)};
  out_shape.insert(out_shape.end(), r.out.begin(), r.out.end());
  const std::int64_t planes = x.size(0) * x.size(1);
  const auto run = [r, in_shape, planes](const Tensor& v, const Shape& shape, bool adjoint, const char* what) {
    const Tensor data = contiguous_data(v);
    Tensor result = detail::make_tensor(shape, v.dtype());
    detail::visit_floating(v.dtype(), what, [&]<class T>() {
      const Shape& from = adjoint ? v.shape() : in_shape;
      apply_maps<T>(axis_maps<T>(in_shape, r), planes, Shape(from.begin() + 2, from.end()),
                    detail::element_ptr<T>(data), detail::element_ptr<T>(result), adjoint);
    });
    return result;
  };
  auto pair = std::make_shared<detail::LinearPair>(detail::LinearPair{
      name, name + "Backward", [run, out_shape, op](const Tensor& v) { return run(v, out_shape, false, op); },
      [run, in_shape](const Tensor& grad) { return run(grad, in_shape, true, "interpolate backward"); }});
  return detail::apply_linear(pair, x);
}

const std::vector<std::string>& interpolate_modes() {
  static const std::vector<std::string> modes{"nearest",   "linear", "bilinear",     "bicubic",
                                              "trilinear", "area",   "nearest-exact"};
  return modes;
}

// The rank a mode needs (0: any of 3, 4, 5).
std::int64_t rank_of(const std::string& mode) {
  if (mode == "linear") return 3;
  if (mode == "bilinear" || mode == "bicubic") return 4;
  if (mode == "trilinear") return 5;
  return 0;
}

std::string joined(const std::vector<std::int64_t>& sizes) {
  std::string out;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (i > 0) out += 'x';
    out += std::to_string(sizes[i]);
  }
  return out;
}

// PyTorch's checks and output size (F.interpolate): one of size and scale_factor,
// one value or one per spatial dim; recompute_scale_factor (and area, which
// always recomputes) turns the factors into the output size alone.
Resize resize_of(const char* op, const Tensor& x, const InterpolateOptions& options) {
  const std::string& mode = options.mode;
  if (std::find(interpolate_modes().begin(), interpolate_modes().end(), mode) == interpolate_modes().end())
    fail<ValueError>(
        "{}: mode must be one of \"nearest\", \"linear\", \"bilinear\", \"bicubic\", \"trilinear\", "
        "\"area\", \"nearest-exact\", got \"{}\"",
        op, mode);
  if (options.align_corners && rank_of(mode) == 0)
    fail<ValueError>(
        "{}: align_corners applies to the interpolating modes linear, bilinear, bicubic and "
        "trilinear only, not \"{}\"",
        op, mode);
  if (options.size.empty() == options.scale_factor.empty())
    fail<ValueError>("{}: give either size or scale_factor (got size {} and scale_factor {})", op, str(options.size),
                     options.scale_factor);
  if (options.recompute_scale_factor.value_or(false) && !options.size.empty())
    fail<ValueError>("{}: recompute_scale_factor is not meaningful with an explicit size {}", op, str(options.size));
  detail::check_defined(op, x);
  if (x.dim() < 3 || x.dim() > 5)
    fail<ShapeError>("{}: expected a 3-D [N, C, L], 4-D [N, C, H, W] or 5-D [N, C, D, H, W] input, got shape {}", op,
                     str(x.shape()));
  if (rank_of(mode) != 0 && rank_of(mode) != x.dim())
    fail<ValueError>("{}: mode \"{}\" needs a {}-D input, got a {}-D input of shape {}", op, mode, rank_of(mode),
                     x.dim(), str(x.shape()));
  for (std::int64_t d = 2; d < x.dim(); ++d)
    if (x.size(d) == 0)
      fail<ShapeError>("{}: input {} has an empty spatial dim, nothing to interpolate from", op, str(x.shape()));
  detail::check_floating(op, x);
  const auto dims = static_cast<std::size_t>(x.dim() - 2);
  Resize r{{}, {}, mode, options.align_corners};
  if (!options.size.empty()) {
    const bool valid = (options.size.size() == 1 || options.size.size() == dims) &&
                       std::all_of(options.size.begin(), options.size.end(), [](std::int64_t s) { return s > 0; });
    if (!valid)
      fail<ValueError>("{}: size must be one or {} positive values for the input {}, got {}", op, dims, str(x.shape()),
                       str(options.size));
    r.out = options.size.size() == 1 ? std::vector<std::int64_t>(dims, options.size[0]) : options.size;
    return r;
  }
  const std::vector<double>& f = options.scale_factor;
  const bool valid = (f.size() == 1 || f.size() == dims) &&
                     std::all_of(f.begin(), f.end(), [](double v) { return std::isfinite(v) && v > 0; });
  if (!valid)
    fail<ValueError>("{}: scale_factor must be one or {} positive values for the input {}, got {}", op, dims,
                     str(x.shape()), f);
  r.factors = f.size() == 1 ? std::vector<double>(dims, f[0]) : f;
  for (std::size_t d = 0; d < dims; ++d)
    r.out.push_back(static_cast<std::int64_t>(
        std::floor(static_cast<double>(x.size(static_cast<std::int64_t>(d) + 2)) * r.factors[d])));
  if (std::any_of(r.out.begin(), r.out.end(), [](std::int64_t s) { return s < 1; }))
    fail<ValueError>("{}: scale_factor {} leaves no pixels of the input {} (output {})", op, f, str(x.shape()),
                     joined(r.out));
  if (options.recompute_scale_factor.value_or(false) || mode == "area") r.factors.clear();
  return r;
}

Tensor resized(const char* op, const Tensor& x, const Resize& r) {
  if (r.mode == "area") {
    if (x.dim() == 3) return adaptive_avg_pool1d(x, r.out);
    if (x.dim() == 4) return adaptive_avg_pool2d(x, r.out);
    return adaptive_avg_pool3d(x, r.out);
  }
  if (x.dim() == 4 && (r.mode == "nearest" || r.mode == "bilinear")) {
    const Target target{r.out[0], r.out[1], r.factors.empty() ? 0.0 : r.factors[0],
                        r.factors.empty() ? 0.0 : r.factors[1]};
    return r.mode == "nearest" ? nearest(op, x, target) : bilinear(op, x, target, r.align_corners);
  }
  return separable(op, x, r);
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
        return resized(op, input, resize_of(op, input, options));
      },
      [&](const detail::trace::Scope&, const Tensor& out) {
        // scale_factor: the factors the coordinates used (none when recomputed).
        const bool recomputed = options.recompute_scale_factor.value_or(false) || options.mode == "area";
        return detail::trace::Call{{input},
                                   {{"mode", options.mode},
                                    {"align_corners", std::int64_t{options.align_corners}},
                                    {"scale_factor", recomputed ? std::vector<double>{} : options.scale_factor},
                                    {"output_shape", out.shape()}}};
      });
}

}  // namespace xgrad
