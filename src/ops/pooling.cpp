// Max, average, adaptive and global pooling over [N, C, *spatial] tensors:
// option checks, shapes and autograd here; the loops are in kernels/pool.cpp.

#include "xgrad/ops/pooling.hpp"

#include <cmath>
#include <string>

#include "autograd/record.hpp"
#include "kernels/pool.hpp"
#include "ops/spatial.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "util/dispatch.hpp"
#include "xgrad/ops/arithmetic.hpp"
#include "xgrad/ops/indexing.hpp"
#include "xgrad/ops/math.hpp"
#include "xgrad/ops/shape.hpp"
#include "ops/trace.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::SavedTensor;
using detail::str;

namespace {

// Kernels see 3 spatial dims; an op with `dims` of them fills the last `dims`.
constexpr std::size_t kKernelDims = 3;

const char* layout(std::size_t dims) {
  return dims == 1 ? "[N, C, L]" : dims == 2 ? "[N, C, H, W]" : "[N, C, D, H, W]";
}

// x must be a floating [N, C, *spatial] tensor with `dims` non-empty spatial dims.
void check_pool_input(const char* op, const Tensor& x, std::size_t dims) {
  detail::check_defined(op, x);
  if (x.dim() != static_cast<std::int64_t>(dims + 2))
    fail<ShapeError>("{}: expected a {}-D input {} (or {}-D without the batch dim), got shape {}", op, dims + 2,
                     layout(dims), dims + 1, str(x.shape()));
  for (std::size_t d = 2; d < dims + 2; ++d)
    if (x.shape()[d] == 0) fail<ShapeError>("{}: input {} has an empty spatial dim {}", op, str(x.shape()), d);
  detail::check_floating(op, x);
}

// x's elements as contiguous planes (copied only when x is a strided view), off the graph.
Tensor contiguous_data(const Tensor& x) {
  NoGradGuard no_grad;
  return contiguous(x);
}

// A kernel geometry holding x's planes: N * C of them, spatial sizes in the last dims.
template <class Geometry>
Geometry planes_of(const Tensor& x) {
  Geometry g;
  g.planes = x.shape()[0] * x.shape()[1];
  const std::size_t dims = x.shape().size() - 2;
  for (std::size_t d = 0; d < dims; ++d) g.in[kKernelDims - dims + d] = x.shape()[2 + d];
  return g;
}

// [N, C, *out] for the output sizes in g's last dims.
template <class Geometry>
Shape output_shape(const Tensor& x, const Geometry& g) {
  Shape shape{x.shape()[0], x.shape()[1]};
  const std::size_t dims = x.shape().size() - 2;
  for (std::size_t d = 0; d < dims; ++d) shape.push_back(g.out[kKernelDims - dims + d]);
  return shape;
}

// The window options max and average pooling share (average: dilation {1}).
struct WindowOptions {
  const Spatial& kernel;
  const Spatial& stride;
  const Spatial& padding;
  const Spatial& dilation;
  bool ceil_mode;
};

kernels::PoolGeometry plan_pool(const char* op, const Tensor& x, std::size_t dims, const WindowOptions& o) {
  check_pool_input(op, x, dims);
  if (o.kernel.empty()) fail<ValueError>("{}: the kernel size is required, e.g. {{.kernel = {{2}}}}", op);
  const Spatial kernel = detail::expand_spatial(op, "kernel", o.kernel, dims, 1);
  const Spatial stride = o.stride.empty() ? kernel : detail::expand_spatial(op, "stride", o.stride, dims, 1);
  const Spatial padding = detail::expand_spatial(op, "padding", o.padding, dims, 0);
  const Spatial dilation = detail::expand_spatial(op, "dilation", o.dilation, dims, 1);
  kernels::PoolGeometry g = planes_of<kernels::PoolGeometry>(x);
  for (std::size_t d = 0; d < dims; ++d) {
    const std::int64_t reach = (kernel[d] - 1) * dilation[d] + 1;
    if (padding[d] > reach / 2)
      fail<ValueError>(
          "{}: padding {} along spatial dim {} is more than half the kernel's extent {} (kernel {}, padding {}, "
          "dilation {})",
          op, padding[d], d, reach, str(kernel), str(padding), str(dilation));
    const std::size_t k = kKernelDims - dims + d;
    g.kernel[k] = kernel[d];
    g.stride[k] = stride[d];
    g.padding[k] = padding[d];
    g.dilation[k] = dilation[d];
    g.out[k] = detail::pool_output_size(op, g.in[k], kernel[d], stride[d], padding[d], dilation[d], o.ceil_mode);
  }
  return g;
}

// With dilation, a window starting in the padding can step over a short input
// altogether (kernel 2, dilation 3, padding 2 on a length-1 input reads -2 and
// 1); its maximum would be undefined, so such shapes are refused.
void check_windows_meet_input(const char* op, const kernels::PoolGeometry& g, std::size_t dims) {
  for (std::size_t k = kKernelDims - dims; k < kKernelDims; ++k)
    for (std::int64_t o = 0; o < g.out[k]; ++o) {
      const std::int64_t start = o * g.stride[k] - g.padding[k];
      if (start >= 0) break;  // this window and the later ones start inside the input
      const std::int64_t first_inside = start + (-start + g.dilation[k] - 1) / g.dilation[k] * g.dilation[k];
      if (first_inside >= g.in[k])
        fail<ShapeError>(
            "{}: output {} along spatial dim {} would pool padding only (input size {}, kernel {}, dilation {}, "
            "padding {})",
            op, o, k - (kKernelDims - dims), g.in[k], g.kernel[k], g.dilation[k], g.padding[k]);
    }
}

// How many planes, and the elements of an input and of an output plane.
struct Planes {
  std::int64_t count, in, out;
};

// The gradient of max pooling: grad [N, C, *out] -> [N, C, *in], each output's
// gradient added to the input element its index names.
Tensor scatter_to_indices(const char* node, const Tensor& grad_output, const Tensor& indices, const Shape& in_shape,
                          const Planes& planes) {
  const Tensor grad = contiguous(grad_output);
  Tensor grad_input = detail::make_tensor(in_shape, grad.dtype());
  detail::visit_floating(grad.dtype(), node, [&]<class T>() {
    kernels::max_pool_backward<T>(planes.count, planes.in, planes.out, detail::element_ptr<T>(grad),
                                  detail::element_ptr<std::int64_t>(indices), detail::element_ptr<T>(grad_input));
  });
  return grad_input;
}

// The adjoint of scatter_to_indices: values [N, C, *in] -> [N, C, *out], each
// output reading the input element its index names (max pooling given its indices).
Tensor gather_from_indices(const char* node, const Tensor& input, const Tensor& indices, const Shape& out_shape,
                           const Planes& planes) {
  const Tensor in = contiguous(input);
  Tensor out = detail::make_tensor(out_shape, in.dtype());
  detail::visit_floating(in.dtype(), node, [&]<class T>() {
    const T* src = detail::element_ptr<T>(in);
    const std::int64_t* index = detail::element_ptr<std::int64_t>(indices);
    T* dst = detail::element_ptr<T>(out);
    for (std::int64_t p = 0; p < planes.count; ++p)
      for (std::int64_t o = 0; o < planes.out; ++o) dst[p * planes.out + o] = src[p * planes.in + index[p * planes.out + o]];
  });
  return out;
}

// Records max pooling's node on `values`, saving the indices. Its backward, the
// scatter through the indices, is linear in the gradient, with the gather
// through the same indices as its adjoint (apply_linear), so that max pooling is
// differentiable to any order.
Tensor record_max_pool(const char* node, const Tensor& x, const Tensor& values, const Tensor& indices,
                       const Planes& planes) {
  return detail::record(node, {x}, values,
                        [node, saved = SavedTensor(indices), in_shape = x.shape(), out_shape = values.shape(),
                         planes](const BackwardArgs& args) {
                          const Tensor index = saved.unpack(node);
                          if (!detail::creating_graph())
                            return std::vector<Tensor>{scatter_to_indices(node, args.grad(), index, in_shape, planes)};
                          auto pair = std::make_shared<detail::LinearPair>(detail::LinearPair{
                              std::string(node) + "Backward", node,
                              [=](const Tensor& g) { return scatter_to_indices(node, g, index, in_shape, planes); },
                              [=](const Tensor& v) { return gather_from_indices(node, v, index, out_shape, planes); }});
                          return std::vector<Tensor>{detail::apply_linear(pair, args.grad())};
                        });
}

// A pooling op's resolved window for the tracer (ops/trace.hpp): the geometry's last `dims` entries.
detail::trace::Attributes window_attributes(const kernels::PoolGeometry& g, std::size_t dims, bool ceil_mode) {
  const auto tail = [dims](const std::array<std::int64_t, 3>& a) { return Spatial(a.end() - dims, a.end()); };
  return {{"kernel", tail(g.kernel)},
          {"stride", tail(g.stride)},
          {"padding", tail(g.padding)},
          {"dilation", tail(g.dilation)},
          {"ceil_mode", std::int64_t{ceil_mode}}};
}

PoolWithIndices max_pool(const char* op, const char* node, std::size_t dims, const Tensor& x,
                         const MaxPoolOptions& options, bool return_indices) {
  const detail::trace::Scope scope;
  const kernels::PoolGeometry g =
      plan_pool(op, x, dims, {options.kernel, options.stride, options.padding, options.dilation, options.ceil_mode});
  check_windows_meet_input(op, g, dims);
  const bool needs_grad = detail::any_requires_grad({x});
  const Tensor input = contiguous_data(x);
  const Shape shape = output_shape(x, g);
  Tensor values = detail::make_tensor(shape, x.dtype());
  const Tensor indices = return_indices || needs_grad ? detail::make_tensor(shape, DType::i64) : Tensor();
  detail::visit_floating(x.dtype(), op, [&]<class T>() {
    kernels::max_pool_forward<T>(g, detail::element_ptr<T>(input), detail::element_ptr<T>(values),
                                 indices.defined() ? detail::element_ptr<std::int64_t>(indices) : nullptr);
  });
  if (scope.recording() && !return_indices)
    scope.record("max_pool", {x}, values, window_attributes(g, dims, options.ceil_mode));
  if (!needs_grad) return {values, indices};
  return {record_max_pool(node, x, values, indices, {g.planes, g.in_plane(), g.out_plane()}), indices};
}

Tensor avg_pool(const char* op, const char* node, std::size_t dims, const Tensor& x, const AvgPoolOptions& options) {
  const detail::trace::Scope scope;
  const Spatial no_dilation{1};
  kernels::PoolGeometry g =
      plan_pool(op, x, dims, {options.kernel, options.stride, options.padding, no_dilation, options.ceil_mode});
  if (options.divisor_override && *options.divisor_override == 0)
    fail<ValueError>("{}: divisor_override must be nonzero, got 0", op);
  g.divisor_override = options.divisor_override.value_or(0);
  const bool include_pad = options.count_include_pad;
  // Linear in x: the forward and its backward are an adjoint pair (apply_linear
  // records each with the other as its backward).
  auto pair = std::make_shared<detail::LinearPair>(detail::LinearPair{
      node, std::string(node) + "Backward",
      [g, include_pad, op](const Tensor& v) {
        const Tensor in = contiguous_data(v);
        Tensor y = detail::make_tensor(output_shape(v, g), v.dtype());
        detail::visit_floating(v.dtype(), op, [&]<class T>() {
          kernels::avg_pool_forward<T>(g, include_pad, detail::element_ptr<T>(in), detail::element_ptr<T>(y));
        });
        return y;
      },
      [g, include_pad, node, in_shape = x.shape()](const Tensor& grad_output) {
        // grad [N, C, *out] -> [N, C, *in]: each output's gradient, over the divisor
        // its forward used, goes to every input element of its window.
        const Tensor grad = contiguous(grad_output);
        Tensor grad_input = detail::make_tensor(in_shape, grad.dtype());
        detail::visit_floating(grad.dtype(), node, [&]<class T>() {
          kernels::avg_pool_backward<T>(g, include_pad, detail::element_ptr<T>(grad),
                                        detail::element_ptr<T>(grad_input));
        });
        return grad_input;
      }});
  Tensor out = detail::apply_linear(pair, x);
  if (scope.recording()) {
    detail::trace::Attributes window = window_attributes(g, dims, options.ceil_mode);
    window.emplace_back("count_include_pad", std::int64_t{include_pad});
    window.emplace_back("divisor_override", g.divisor_override);
    scope.record("avg_pool", {x}, out, std::move(window));
  }
  return out;
}

kernels::AdaptiveGeometry plan_adaptive(const char* op, const Tensor& x, std::size_t dims, const Spatial& output_size) {
  check_pool_input(op, x, dims);
  const Spatial out = detail::expand_spatial(op, "output_size", output_size, dims, 1);
  kernels::AdaptiveGeometry g = planes_of<kernels::AdaptiveGeometry>(x);
  for (std::size_t d = 0; d < dims; ++d) g.out[kKernelDims - dims + d] = out[d];
  return g;
}

Tensor adaptive_avg_pool(const char* op, const char* node, std::size_t dims, const Tensor& x,
                         const Spatial& output_size) {
  const detail::trace::Scope scope;
  const kernels::AdaptiveGeometry g = plan_adaptive(op, x, dims, output_size);
  auto pair = std::make_shared<detail::LinearPair>(detail::LinearPair{
      node, std::string(node) + "Backward",
      [g, op](const Tensor& v) {
        const Tensor in = contiguous_data(v);
        Tensor y = detail::make_tensor(output_shape(v, g), v.dtype());
        detail::visit_floating(v.dtype(), op, [&]<class T>() {
          kernels::adaptive_avg_pool_forward<T>(g, detail::element_ptr<T>(in), detail::element_ptr<T>(y));
        });
        return y;
      },
      [g, node, in_shape = x.shape()](const Tensor& grad_output) {
        // grad [N, C, *out] -> [N, C, *in]: each output's gradient / window size to its window.
        const Tensor grad = contiguous(grad_output);
        Tensor grad_input = detail::make_tensor(in_shape, grad.dtype());
        detail::visit_floating(grad.dtype(), node, [&]<class T>() {
          kernels::adaptive_avg_pool_backward<T>(g, detail::element_ptr<T>(grad), detail::element_ptr<T>(grad_input));
        });
        return grad_input;
      }});
  Tensor out = detail::apply_linear(pair, x);
  if (scope.recording()) scope.record("adaptive_avg_pool", {x}, out, {{"output_size", Spatial(g.out.end() - dims, g.out.end())}});
  return out;
}

PoolWithIndices adaptive_max_pool(const char* op, const char* node, std::size_t dims, const Tensor& x,
                                  const Spatial& output_size) {
  const detail::trace::Scope scope;
  const kernels::AdaptiveGeometry g = plan_adaptive(op, x, dims, output_size);
  const Tensor input = contiguous_data(x);
  const Shape shape = output_shape(x, g);
  Tensor values = detail::make_tensor(shape, x.dtype());
  const Tensor indices = detail::make_tensor(shape, DType::i64);
  detail::visit_floating(x.dtype(), op, [&]<class T>() {
    kernels::adaptive_max_pool_forward<T>(g, detail::element_ptr<T>(input), detail::element_ptr<T>(values),
                                          detail::element_ptr<std::int64_t>(indices));
  });
  if (!detail::any_requires_grad({x})) return {values, indices};
  return {record_max_pool(node, x, values, indices, {g.planes, g.in_plane(), g.out_plane()}), indices};
}

}  // namespace

namespace {

// PyTorch's unbatched pooling: an input without its batch dim ([C, *spatial], dims + 1
// dims) is pooled as a batch of one.
bool unbatched(const Tensor& input, std::size_t dims) {
  return input.defined() && input.dim() == static_cast<std::int64_t>(dims + 1);
}

template <class Pool>
PoolWithIndices maybe_unbatched(const Tensor& input, std::size_t dims, Pool pool) {
  if (!unbatched(input, dims)) return pool(input);
  const PoolWithIndices batched = pool(unsqueeze(input, 0));
  return {squeeze(batched.values, 0), batched.indices.defined() ? squeeze(batched.indices, 0) : Tensor()};
}

PoolWithIndices max_pool_any(const char* op, const char* node, std::size_t dims, const Tensor& input,
                             const MaxPoolOptions& options, bool return_indices) {
  return maybe_unbatched(input, dims, [&](const Tensor& x) { return max_pool(op, node, dims, x, options, return_indices); });
}

Tensor avg_pool_any(const char* op, const char* node, std::size_t dims, const Tensor& input,
                    const AvgPoolOptions& options) {
  if (unbatched(input, dims)) return squeeze(avg_pool(op, node, dims, unsqueeze(input, 0), options), 0);
  return avg_pool(op, node, dims, input, options);
}

Tensor adaptive_avg_pool_any(const char* op, const char* node, std::size_t dims, const Tensor& input,
                             const Spatial& output_size) {
  if (unbatched(input, dims)) return squeeze(adaptive_avg_pool(op, node, dims, unsqueeze(input, 0), output_size), 0);
  return adaptive_avg_pool(op, node, dims, input, output_size);
}

PoolWithIndices adaptive_max_pool_any(const char* op, const char* node, std::size_t dims, const Tensor& input,
                                      const Spatial& output_size) {
  return maybe_unbatched(input, dims, [&](const Tensor& x) { return adaptive_max_pool(op, node, dims, x, output_size); });
}

}  // namespace

Tensor max_pool1d(const Tensor& input, const MaxPool1dOptions& options) {
  return max_pool_any("max_pool1d", "MaxPool1dBackward", 1, input, options, false).values;
}
Tensor max_pool2d(const Tensor& input, const MaxPool2dOptions& options) {
  return max_pool_any("max_pool2d", "MaxPool2dBackward", 2, input, options, false).values;
}
Tensor max_pool3d(const Tensor& input, const MaxPool3dOptions& options) {
  return max_pool_any("max_pool3d", "MaxPool3dBackward", 3, input, options, false).values;
}
PoolWithIndices max_pool1d_with_indices(const Tensor& input, const MaxPool1dOptions& options) {
  return max_pool_any("max_pool1d_with_indices", "MaxPool1dBackward", 1, input, options, true);
}
PoolWithIndices max_pool2d_with_indices(const Tensor& input, const MaxPool2dOptions& options) {
  return max_pool_any("max_pool2d_with_indices", "MaxPool2dBackward", 2, input, options, true);
}
PoolWithIndices max_pool3d_with_indices(const Tensor& input, const MaxPool3dOptions& options) {
  return max_pool_any("max_pool3d_with_indices", "MaxPool3dBackward", 3, input, options, true);
}

Tensor avg_pool1d(const Tensor& input, const AvgPool1dOptions& options) {
  return avg_pool_any("avg_pool1d", "AvgPool1dBackward", 1, input, options);
}
Tensor avg_pool2d(const Tensor& input, const AvgPool2dOptions& options) {
  return avg_pool_any("avg_pool2d", "AvgPool2dBackward", 2, input, options);
}
Tensor avg_pool3d(const Tensor& input, const AvgPool3dOptions& options) {
  return avg_pool_any("avg_pool3d", "AvgPool3dBackward", 3, input, options);
}

Tensor adaptive_avg_pool1d(const Tensor& input, const Spatial& output_size) {
  return adaptive_avg_pool_any("adaptive_avg_pool1d", "AdaptiveAvgPool1dBackward", 1, input, output_size);
}
Tensor adaptive_avg_pool2d(const Tensor& input, const Spatial& output_size) {
  return adaptive_avg_pool_any("adaptive_avg_pool2d", "AdaptiveAvgPool2dBackward", 2, input, output_size);
}
Tensor adaptive_avg_pool3d(const Tensor& input, const Spatial& output_size) {
  return adaptive_avg_pool_any("adaptive_avg_pool3d", "AdaptiveAvgPool3dBackward", 3, input, output_size);
}
Tensor adaptive_max_pool1d(const Tensor& input, const Spatial& output_size) {
  return adaptive_max_pool_any("adaptive_max_pool1d", "AdaptiveMaxPool1dBackward", 1, input, output_size).values;
}
Tensor adaptive_max_pool2d(const Tensor& input, const Spatial& output_size) {
  return adaptive_max_pool_any("adaptive_max_pool2d", "AdaptiveMaxPool2dBackward", 2, input, output_size).values;
}
Tensor adaptive_max_pool3d(const Tensor& input, const Spatial& output_size) {
  return adaptive_max_pool_any("adaptive_max_pool3d", "AdaptiveMaxPool3dBackward", 3, input, output_size).values;
}
PoolWithIndices adaptive_max_pool1d_with_indices(const Tensor& input, const Spatial& output_size) {
  return adaptive_max_pool_any("adaptive_max_pool1d_with_indices", "AdaptiveMaxPool1dBackward", 1, input, output_size);
}
PoolWithIndices adaptive_max_pool2d_with_indices(const Tensor& input, const Spatial& output_size) {
  return adaptive_max_pool_any("adaptive_max_pool2d_with_indices", "AdaptiveMaxPool2dBackward", 2, input, output_size);
}
PoolWithIndices adaptive_max_pool3d_with_indices(const Tensor& input, const Spatial& output_size) {
  return adaptive_max_pool_any("adaptive_max_pool3d_with_indices", "AdaptiveMaxPool3dBackward", 3, input, output_size);
}

namespace {

Tensor max_unpool(const char* op, std::size_t dims, const Tensor& input, const Tensor& indices,
                  const MaxUnpoolOptions& options) {
  detail::check_defined(op, input);
  detail::check_defined(op, indices, "indices");
  if (unbatched(input, dims)) return squeeze(max_unpool(op, dims, unsqueeze(input, 0), unsqueeze(indices, 0), options), 0);
  if (input.dim() != static_cast<std::int64_t>(dims + 2))
    fail<ShapeError>("{}: expected a {}-D input {} (or {}-D without the batch dim), got shape {}", op, dims + 2,
                     layout(dims), dims + 1, str(input.shape()));
  detail::check_floating(op, input);
  if (indices.dtype() != i64 || indices.shape() != input.shape())
    fail<ShapeError>("{}: indices must be i64 of the input's shape {}, got {} of shape {}", op, str(input.shape()),
                     dtype_name(indices.dtype()), str(indices.shape()));
  if (options.kernel.empty()) fail<ValueError>("{}: the kernel size is required, e.g. {{.kernel = {{2}}}}", op);
  const Spatial kernel = detail::expand_spatial(op, "kernel", options.kernel, dims, 1);
  const Spatial stride = options.stride.empty() ? kernel : detail::expand_spatial(op, "stride", options.stride, dims, 1);
  const Spatial padding = detail::expand_spatial(op, "padding", options.padding, dims, 0);
  Shape out_shape{input.size(0), input.size(1)};
  std::int64_t plane = 1;
  for (std::size_t d = 0; d < dims; ++d) {
    const std::int64_t in = input.shape()[d + 2];
    const std::int64_t natural = (in - 1) * stride[d] - 2 * padding[d] + kernel[d];
    std::int64_t size = natural;
    if (!options.output_size.empty()) {
      if (options.output_size.size() != dims)
        fail<ValueError>("{}: output_size must give the {} spatial sizes, got {}", op, dims, str(options.output_size));
      size = options.output_size[d];
      if (size <= natural - stride[d] || size >= natural + stride[d])
        fail<ValueError>("{}: output_size {} is not between {} and {} in spatial dim {} (input {})", op,
                         str(options.output_size), natural - stride[d] + 1, natural + stride[d] - 1, d,
                         str(input.shape()));
    }
    if (size < 1) fail<ShapeError>("{}: the output would have size {} in spatial dim {}", op, size, d);
    out_shape.push_back(size);
    plane *= size;
  }
  const Tensor flat_indices = reshape(indices, {input.size(0), input.size(1), -1});
  const auto values = flat_indices.contiguous().to_vector<std::int64_t>();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] < 0 || values[i] >= plane)
      fail<ValueError>("{}: index {} at position {} is outside the output plane of {} elements (output {})", op,
                       values[i], str(detail::unravel_index(static_cast<std::int64_t>(i), indices.shape())), plane,
                       str(out_shape));
  const Tensor canvas = zeros({input.size(0), input.size(1), plane}, {.dtype = input.dtype()});
  return reshape(scatter_add(canvas, 2, flat_indices, reshape(input, {input.size(0), input.size(1), -1})), out_shape);
}

Tensor lp_pool(const char* op, std::size_t dims, const Tensor& input, const LpPoolOptions& options) {
  if (!(options.norm_type > 0) || !std::isfinite(options.norm_type))
    fail<ValueError>("{}: norm_type must be a positive number, got {}", op, options.norm_type);
  if (options.kernel.empty()) fail<ValueError>("{}: the kernel size is required, e.g. {{.kernel = {{2}}}}", op);
  const Spatial kernel = detail::expand_spatial(op, "kernel", options.kernel, dims, 1);
  std::int64_t window = 1;
  for (const std::int64_t k : kernel) window *= k;
  const AvgPoolOptions avg{.kernel = kernel, .stride = options.stride, .padding = {0}, .ceil_mode = options.ceil_mode};
  const Tensor powered = pow(input, options.norm_type);
  const Tensor mean = dims == 1 ? avg_pool1d(powered, avg) : avg_pool2d(powered, avg);
  return pow(mul(mean, static_cast<double>(window)), 1.0 / options.norm_type);
}

}  // namespace

Tensor max_unpool1d(const Tensor& input, const Tensor& indices, const MaxUnpool1dOptions& options) {
  return max_unpool("max_unpool1d", 1, input, indices, options);
}
Tensor max_unpool2d(const Tensor& input, const Tensor& indices, const MaxUnpool2dOptions& options) {
  return max_unpool("max_unpool2d", 2, input, indices, options);
}
Tensor max_unpool3d(const Tensor& input, const Tensor& indices, const MaxUnpool3dOptions& options) {
  return max_unpool("max_unpool3d", 3, input, indices, options);
}
Tensor lp_pool1d(const Tensor& input, const LpPoolOptions& options) { return lp_pool("lp_pool1d", 1, input, options); }
Tensor lp_pool2d(const Tensor& input, const LpPoolOptions& options) { return lp_pool("lp_pool2d", 2, input, options); }

Tensor global_avg_pool(const Tensor& input) {
  return detail::trace::traced(
      "global_avg_pool",
      [&]() -> Tensor {
        const char* op = "global_avg_pool";
        detail::check_defined(op, input);
        if (input.dim() < 3)
          fail<ShapeError>("{}: expected an input [N, C, *spatial] with at least one spatial dim, got shape {}", op,
                           str(input.shape()));
        detail::check_floating(op, input);
        const std::int64_t planes = input.shape()[0] * input.shape()[1];
        std::int64_t plane_size = 1;
        for (std::size_t d = 2; d < input.shape().size(); ++d) plane_size *= input.shape()[d];
        if (plane_size == 0) fail<ShapeError>("{}: input {} has an empty spatial dim", op, str(input.shape()));
        const Tensor x = contiguous_data(input);
        Tensor out = detail::make_tensor({input.shape()[0], input.shape()[1]}, input.dtype());
        detail::visit_floating(input.dtype(), op, [&]<class T>() {
          kernels::global_avg_pool_forward<T>(planes, plane_size, detail::element_ptr<T>(x),
                                              detail::element_ptr<T>(out));
        });
        if (!detail::any_requires_grad({input})) return out;
        return detail::record("GlobalAvgPoolBackward", {input}, out,
                              [planes, plane_size, in_shape = input.shape()](const BackwardArgs& args) {
                                // grad [N, C] -> [N, C, *spatial]: grad / plane size to every element of the plane.
                                if (detail::creating_graph()) {
                                  Shape kept = in_shape;
                                  std::fill(kept.begin() + 2, kept.end(), 1);
                                  return std::vector<Tensor>{div(expand(reshape(args.grad(), kept), in_shape),
                                                                 static_cast<double>(plane_size))};
                                }
                                const Tensor grad = contiguous(args.grad());
                                Tensor grad_input = detail::make_tensor(in_shape, grad.dtype());
                                detail::visit_floating(grad.dtype(), "GlobalAvgPoolBackward", [&]<class T>() {
                                  kernels::global_avg_pool_backward<T>(planes, plane_size, detail::element_ptr<T>(grad),
                                                                       detail::element_ptr<T>(grad_input));
                                });
                                return std::vector<Tensor>{grad_input};
                              });
      },
      detail::trace::inputs(input));
}

}  // namespace xgrad
