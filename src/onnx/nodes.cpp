// One ONNX node run with xgrad's differentiable ops (the operators' semantics:
// onnx/defs, https://onnx.ai/onnx/operators/). Where an opset changed an operator
// (Softmax's axis at 13, Pad/Clip/Slice/Squeeze moving attributes to inputs at
// 10-13), both forms are read.

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>

#include "onnx/graph.hpp"
#include "util/check.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::onnx {

namespace {

using detail::fail;
using Ints = std::vector<std::int64_t>;

class Args {
 public:
  Args(const Node& node, const std::vector<Tensor>& inputs, std::int64_t opset_version)
      : opset(opset_version), node_(node), inputs_(inputs) {}

  [[noreturn]] void refuse(const std::string& what) const {
    fail<ValueError>("OnnxModel: node '{}' ({}): {}", node_.name, node_.op_type, what);
  }
  bool has(std::size_t i) const { return i < inputs_.size() && inputs_[i].defined(); }
  const Tensor& in(std::size_t i) const {
    if (!has(i)) refuse(fmt::format("input {} is missing", i));
    return inputs_[i];
  }
  bool wants_output(std::size_t i) const { return i < node_.outputs.size() && !node_.outputs[i].empty(); }

  template <class T>
  std::optional<T> attr(const std::string& name) const {
    const auto it = node_.attributes.find(name);
    if (it == node_.attributes.end()) return std::nullopt;
    if (const T* v = std::get_if<T>(&it->second)) return *v;
    refuse(fmt::format("attribute {} has another type than expected", name));
  }
  template <class T>
  T attr(const std::string& name, T fallback) const {
    return attr<T>(name).value_or(std::move(fallback));
  }
  // An int64 input tensor's values (shapes, pads, axes).
  Ints ints(std::size_t i) const {
    const Tensor& t = in(i);
    if (t.dtype() != i64) refuse(fmt::format("input {} must be int64, got {}", i, dtype_name(t.dtype())));
    return t.contiguous().to_vector<std::int64_t>();
  }
  std::int64_t axis(std::int64_t a, std::int64_t rank) const {
    if (a < -rank || a >= std::max<std::int64_t>(rank, 1)) refuse(fmt::format("axis {} is out of range for rank {}", a, rank));
    return a < 0 ? a + rank : a;
  }

  const std::int64_t opset;

 private:
  const Node& node_;
  const std::vector<Tensor>& inputs_;
};

Ints spatial_of(const Tensor& t) { return Ints(t.shape().begin() + 2, t.shape().end()); }

// pads [b1.., e1..] (ONNX) from the attribute or auto_pad, for a window of `kernel` (dilated).
std::pair<Ints, Ints> window_pads(const Args& a, const Ints& in, const Ints& kernel, const Ints& stride,
                                  const Ints& dilation) {
  const std::size_t n = in.size();
  const std::string mode = a.attr<std::string>("auto_pad", "NOTSET");
  Ints begin(n, 0), end(n, 0);
  if (mode == "NOTSET") {
    const Ints pads = a.attr<Ints>("pads", Ints(2 * n, 0));
    if (pads.size() != 2 * n) a.refuse(fmt::format("pads has {} values for {} spatial dims", pads.size(), n));
    std::copy(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(n), begin.begin());
    std::copy(pads.begin() + static_cast<std::ptrdiff_t>(n), pads.end(), end.begin());
  } else if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    for (std::size_t d = 0; d < n; ++d) {
      const std::int64_t out = (in[d] + stride[d] - 1) / stride[d];
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * stride[d] + (kernel[d] - 1) * dilation[d] + 1 - in[d]);
      const std::int64_t small = total / 2;
      begin[d] = mode == "SAME_UPPER" ? small : total - small;
      end[d] = total - begin[d];
    }
  } else if (mode != "VALID") {
    a.refuse("auto_pad " + mode + " is not an ONNX mode");
  }
  return {begin, end};
}

Tensor conv(const Args& a) {
  const Tensor& x = a.in(0);
  const Tensor& w = a.in(1);
  const Ints kernel = spatial_of(w);
  const std::size_t n = kernel.size();
  const Ints stride = a.attr<Ints>("strides", Ints(n, 1)), dilation = a.attr<Ints>("dilations", Ints(n, 1));
  const auto [begin, end] = window_pads(a, spatial_of(x), kernel, stride, dilation);
  const ConvOptions options{.stride = stride, .padding = Padding::asymmetric(begin, end), .dilation = dilation,
                            .groups = a.attr<std::int64_t>("group", 1)};
  const Tensor b = a.has(2) ? a.in(2) : Tensor();
  if (n == 1) return conv1d(x, w, b, options);
  if (n == 2) return conv2d(x, w, b, options);
  if (n == 3) return conv3d(x, w, b, options);
  a.refuse(fmt::format("{} spatial dims; 1 to 3 are run", n));
}

Tensor conv_transpose(const Args& a) {
  const Tensor& x = a.in(0);
  const Tensor& w = a.in(1);
  const std::size_t n = static_cast<std::size_t>(w.dim()) - 2;
  if (a.attr<Ints>("output_shape")) a.refuse("output_shape is not supported (give pads and output_padding)");
  if (a.attr<std::string>("auto_pad", "NOTSET") != "NOTSET") a.refuse("auto_pad is not supported");
  const Ints pads = a.attr<Ints>("pads", Ints(2 * n, 0));
  if (!std::equal(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(n), pads.begin() + static_cast<std::ptrdiff_t>(n)))
    a.refuse("asymmetric pads are not supported");
  const ConvTransposeOptions options{.stride = a.attr<Ints>("strides", Ints(n, 1)),
                                     .padding = Ints(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(n)),
                                     .output_padding = a.attr<Ints>("output_padding", Ints(n, 0)),
                                     .dilation = a.attr<Ints>("dilations", Ints(n, 1)),
                                     .groups = a.attr<std::int64_t>("group", 1)};
  const Tensor b = a.has(2) ? a.in(2) : Tensor();
  if (n == 1) return conv_transpose1d(x, w, b, options);
  if (n == 2) return conv_transpose2d(x, w, b, options);
  if (n == 3) return conv_transpose3d(x, w, b, options);
  a.refuse(fmt::format("{} spatial dims; 1 to 3 are run", n));
}

// xgrad pads pooling symmetrically; asymmetric ONNX pads become an explicit pad first.
Tensor pool(const Args& a, bool max) {
  if (max && a.wants_output(1)) a.refuse("the Indices output is not supported");
  Tensor x = a.in(0);
  const Ints kernel = a.attr<Ints>("kernel_shape").value_or(Ints{});
  const std::size_t n = kernel.size();
  if (n == 0 || n + 2 != static_cast<std::size_t>(x.dim())) a.refuse("kernel_shape must name every spatial dim");
  const Ints stride = a.attr<Ints>("strides", Ints(n, 1));
  const Ints dilation = max ? a.attr<Ints>("dilations", Ints(n, 1)) : Ints(n, 1);
  auto [begin, end] = window_pads(a, spatial_of(x), kernel, stride, dilation);
  const bool ceil = a.attr<std::int64_t>("ceil_mode", 0) != 0;
  const bool include_pad = a.attr<std::int64_t>("count_include_pad", 0) != 0;
  const auto run = [&](const Tensor& t, const Ints& padding, bool count_pad) {
    if (max) {
      const MaxPoolOptions o{.kernel = kernel, .stride = stride, .padding = padding, .dilation = dilation, .ceil_mode = ceil};
      return n == 1 ? max_pool1d(t, o) : n == 2 ? max_pool2d(t, o) : max_pool3d(t, o);
    }
    const AvgPoolOptions o{.kernel = kernel, .stride = stride, .padding = padding, .ceil_mode = ceil,
                           .count_include_pad = count_pad};
    return n == 1 ? avg_pool1d(t, o) : n == 2 ? avg_pool2d(t, o) : avg_pool3d(t, o);
  };
  bool symmetric = begin == end;
  for (std::size_t d = 0; d < n; ++d) symmetric = symmetric && 2 * begin[d] <= (kernel[d] - 1) * dilation[d] + 1;
  if (symmetric) return run(x, begin, include_pad);
  // Asymmetric pads, or more than xgrad's (PyTorch's) half a window: pad explicitly
  // (-inf for max) and pool unpadded.
  if (ceil) a.refuse("ceil_mode with asymmetric or large pads is not supported");
  Ints pads;  // xgrad's order: from the last dim, (begin, end) pairs
  for (std::size_t d = n; d-- > 0;) pads.insert(pads.end(), {begin[d], end[d]});
  const Ints none(n, 0);
  if (max) return run(pad(x, pads, -std::numeric_limits<double>::infinity()), none, true);
  const Tensor sums = run(pad(x, pads, 0.0), none, true);
  if (include_pad) return sums;
  // The mean over the window's real elements: the padded mean over the padded mean of ones.
  return sums / run(pad(ones_like(x), pads, 0.0), none, true);
}

Tensor global_average_pool(const Args& a) {
  const Tensor& x = a.in(0);
  const Ints ones(static_cast<std::size_t>(std::max<std::int64_t>(x.dim() - 2, 0)), 1);
  if (x.dim() == 3) return adaptive_avg_pool1d(x, ones);
  if (x.dim() == 4) return adaptive_avg_pool2d(x, ones);
  if (x.dim() == 5) return adaptive_avg_pool3d(x, ones);
  a.refuse(fmt::format("input of rank {}; 3 to 5 are run", x.dim()));
}

Tensor batch_normalization(const Args& a) {
  if (a.attr<std::int64_t>("training_mode", 0) != 0 || a.wants_output(1))
    a.refuse("training mode (batch statistics, running-statistics outputs) is not supported");
  return batch_norm(a.in(0), a.in(3), a.in(4), a.in(1), a.in(2),
                    {.training = false, .eps = a.attr<double>("epsilon", 1e-5)});
}

Tensor instance_normalization(const Args& a) {
  return instance_norm(a.in(0), {}, {}, a.in(1), a.in(2), {.eps = a.attr<double>("epsilon", 1e-5)});
}

// LayerNormalization (opset 17): normalised over the axes from `axis` on. Its
// optional Mean and InvStdDev outputs (keeping the normalised axes as 1s) are
// computed apart, without gradients through layer_norm's fused statistics.
std::vector<Tensor> layer_normalization(const Args& a) {
  const Tensor& x = a.in(0);
  const std::int64_t axis = a.axis(a.attr<std::int64_t>("axis", -1), x.dim());
  std::vector<Tensor> outputs{layer_norm(x, Ints(x.shape().begin() + axis, x.shape().end()), a.in(1),
                                         a.has(2) ? a.in(2) : Tensor(), {.eps = a.attr<double>("epsilon", 1e-5)})};
  if (a.wants_output(1) || a.wants_output(2)) {
    Ints axes(static_cast<std::size_t>(x.dim() - axis));
    std::iota(axes.begin(), axes.end(), axis);
    const Tensor mean = x.mean(Dims(axes), true);
    const Tensor centred = x - mean;
    outputs.push_back(mean);
    outputs.push_back(1.0 / sqrt((centred * centred).mean(Dims(axes), true) + a.attr<double>("epsilon", 1e-5)));
  }
  return outputs;
}

// ReduceMean: the axes an attribute before opset 18, an input from it; none: all axes.
Tensor reduce_mean_node(const Args& a) {
  const Tensor& x = a.in(0);
  const Ints axes = a.has(1) ? a.ints(1) : a.attr<Ints>("axes", {});
  const bool keepdims = a.attr<std::int64_t>("keepdims", 1) != 0;
  if (axes.empty()) {
    if (a.attr<std::int64_t>("noop_with_empty_axes", 0) != 0) return x;
    Ints all(static_cast<std::size_t>(x.dim()));
    std::iota(all.begin(), all.end(), 0);
    return x.mean(Dims(all), keepdims);
  }
  Ints wrapped;
  for (std::int64_t v : axes) wrapped.push_back(a.axis(v, x.dim()));
  return x.mean(Dims(wrapped), keepdims);
}

Tensor gemm(const Args& a) {
  const double alpha = a.attr<double>("alpha", 1.0), beta = a.attr<double>("beta", 1.0);
  const bool trans_a = a.attr<std::int64_t>("transA", 0) != 0, trans_b = a.attr<std::int64_t>("transB", 0) != 0;
  const Tensor& A = a.in(0);
  const Tensor& B = a.in(1);
  const bool vector_bias = !a.has(2) || a.in(2).dim() <= 1;
  if (!trans_a && trans_b && alpha == 1.0 && beta == 1.0 && vector_bias && (!a.has(2) || a.in(2).dim() == 1))
    return linear(A, B, a.has(2) ? a.in(2) : Tensor());  // the usual Gemm: x W^T + b
  Tensor y = matmul(trans_a ? A.t() : A, trans_b ? B.t() : B);
  if (alpha != 1.0) y = y * alpha;
  if (a.has(2)) y = y + (beta == 1.0 ? a.in(2) : a.in(2) * beta);
  return y;
}

Tensor softmax_node(const Args& a, bool log) {
  const Tensor& x = a.in(0);
  const auto run = [&](const Tensor& t, std::int64_t dim) { return log ? log_softmax(t, dim) : softmax(t, dim); };
  if (a.opset >= 13) return run(x, a.axis(a.attr<std::int64_t>("axis", -1), x.dim()));
  // Before opset 13 the input is seen as 2-D: [prod(dims before axis), prod(the rest)].
  const std::int64_t axis = a.axis(a.attr<std::int64_t>("axis", 1), x.dim());
  std::int64_t rows = 1;
  for (std::int64_t d = 0; d < axis; ++d) rows *= x.size(d);
  return run(x.reshape({rows, -1}), 1).reshape(x.shape());
}

Tensor reshape_node(const Args& a) {
  const Tensor& x = a.in(0);
  Ints shape = a.opset >= 5 ? a.ints(1) : a.attr<Ints>("shape", {});
  const bool allow_zero = a.attr<std::int64_t>("allowzero", 0) != 0;
  for (std::size_t d = 0; d < shape.size(); ++d)
    if (shape[d] == 0 && !allow_zero) {
      if (static_cast<std::int64_t>(d) >= x.dim()) a.refuse("a 0 (copy) past the input's rank");
      shape[d] = x.size(static_cast<std::int64_t>(d));
    }
  return x.reshape(shape);
}

Tensor flatten_node(const Args& a) {
  const Tensor& x = a.in(0);
  const std::int64_t axis = a.attr<std::int64_t>("axis", 1);
  const std::int64_t split = axis < 0 ? axis + x.dim() : axis;
  if (split < 0 || split > x.dim()) a.refuse(fmt::format("axis {} for rank {}", axis, x.dim()));
  std::int64_t rows = 1;
  for (std::int64_t d = 0; d < split; ++d) rows *= x.size(d);
  return x.reshape({rows, rows == 0 ? 0 : -1});
}

Tensor pad_node(const Args& a) {
  const Tensor& x = a.in(0);
  const std::string mode = a.attr<std::string>("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    a.refuse("mode " + mode + " is not supported (constant, reflect and edge)");
  const Ints pads = a.opset >= 11 ? a.ints(1) : a.attr<Ints>("pads", {});
  double value = a.attr<double>("value", 0.0);
  if (a.opset >= 11 && a.has(2)) value = a.in(2).to(f64).item();
  const auto rank = static_cast<std::size_t>(x.dim());
  if (pads.size() != 2 * rank) a.refuse(fmt::format("pads has {} values for rank {}", pads.size(), rank));
  Ints from_last;
  for (std::size_t d = rank; d-- > 0;) from_last.insert(from_last.end(), {pads[d], pads[d + rank]});
  if (mode == "constant") return pad(x, from_last, value);
  while (from_last.size() >= 2 && from_last[from_last.size() - 1] == 0 && from_last[from_last.size() - 2] == 0)
    from_last.resize(from_last.size() - 2);  // unpadded leading dims (N, C)
  return pad(x, from_last, mode == "edge" ? "replicate" : "reflect");
}

Tensor slice_node(const Args& a) {
  Tensor x = a.in(0);
  const Ints starts = a.opset >= 10 ? a.ints(1) : a.attr<Ints>("starts", {});
  const Ints ends = a.opset >= 10 ? a.ints(2) : a.attr<Ints>("ends", {});
  Ints axes = a.opset >= 10 ? (a.has(3) ? a.ints(3) : Ints{}) : a.attr<Ints>("axes", {});
  const Ints steps = a.opset >= 10 && a.has(4) ? a.ints(4) : Ints(starts.size(), 1);
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    a.refuse("starts, ends, axes and steps differ in length");
  for (std::size_t i = 0; i < starts.size(); ++i) {
    if (steps[i] <= 0) a.refuse(fmt::format("step {} is not supported (positive steps only)", steps[i]));
    const std::int64_t axis = a.axis(axes[i], x.dim()), size = x.size(axis);
    const auto clamp_index = [size](std::int64_t v) { return std::clamp(v < 0 ? v + size : v, std::int64_t{0}, size); };
    const std::int64_t begin = clamp_index(starts[i]), end = std::max(begin, clamp_index(ends[i]));
    x = slice(x, axis, begin, end, steps[i]);
  }
  return x;
}

Tensor clip_node(const Args& a) {
  std::optional<double> lo, hi;
  if (a.opset >= 11) {
    if (a.has(1)) lo = a.in(1).to(f64).item();
    if (a.has(2)) hi = a.in(2).to(f64).item();
  } else {
    lo = a.attr<double>("min");
    hi = a.attr<double>("max");
  }
  if (!lo && !hi) return a.in(0);
  return clamp(a.in(0), lo, hi);
}

// Resize (and Upsample) as interpolate, where ONNX's coordinates are PyTorch's:
// nearest with asymmetric + floor (nearest) or half_pixel + round_prefer_ceil
// (nearest-exact, floor((o + 0.5) / scale)); linear of 3-D, 4-D, 5-D inputs (linear,
// bilinear, trilinear) and cubic of 4-D inputs with cubic_coeff_a -0.75 and
// exclude_outside 0 (bicubic), both with half_pixel, pytorch_half_pixel or
// align_corners.
Tensor resize_node(const Args& a) {
  const Tensor& x = a.in(0);
  if (x.dim() < 3 || x.dim() > 5) a.refuse(fmt::format("input of rank {}; 3-D to 5-D inputs are resized", x.dim()));
  const auto rank = static_cast<std::size_t>(x.dim());
  std::vector<double> scales;
  Ints sizes;
  const std::size_t scales_input = a.opset >= 11 ? 2 : 1;
  if (a.has(scales_input) && a.in(scales_input).numel() > 0) scales = a.in(scales_input).to(f64).to_vector<double>();
  else if (const auto attr = a.attr<std::vector<double>>("scales")) scales = *attr;  // Upsample-7
  if (a.opset >= 11 && a.has(3) && a.in(3).numel() > 0) sizes = a.ints(3);
  if (!scales.empty() && (scales.size() != rank || scales[0] != 1.0 || scales[1] != 1.0))
    a.refuse(fmt::format("scales must be [1, 1, ...] with one value per spatial dim of the rank-{} input", rank));
  if (!sizes.empty() && (sizes.size() != rank || sizes[0] != x.size(0) || sizes[1] != x.size(1)))
    a.refuse("sizes must keep the batch and channels, one value per dim");
  if (scales.empty() && sizes.empty()) a.refuse("neither scales nor sizes is given");

  const std::string mode = a.attr<std::string>("mode", "nearest");
  // Upsample and Resize-10 map coordinates as "asymmetric"; Resize-11 defaults to half_pixel.
  const std::string coordinates = a.opset >= 11 ? a.attr<std::string>("coordinate_transformation_mode", "half_pixel")
                                                : std::string("asymmetric");
  const auto out_size = [&](std::size_t d) {
    return sizes.empty() ? static_cast<std::int64_t>(std::floor(x.size(static_cast<std::int64_t>(d)) * scales[d]))
                         : sizes[d];
  };
  InterpolateOptions options;
  for (std::size_t d = 2; d < rank; ++d) {
    if (!sizes.empty()) options.size.push_back(sizes[d]);
    else options.scale_factor.push_back(scales[d]);
  }
  if (mode == "nearest") {
    const std::string rounding =
        a.opset >= 11 ? a.attr<std::string>("nearest_mode", "round_prefer_floor") : std::string("floor");
    if (coordinates == "asymmetric" && rounding == "floor") options.mode = "nearest";
    else if (coordinates == "half_pixel" && rounding == "round_prefer_ceil") options.mode = "nearest-exact";
    else
      a.refuse("nearest resizing is run with asymmetric coordinates and floor (PyTorch's nearest) or half_pixel and "
               "round_prefer_ceil (nearest-exact), got " + coordinates + " and " + rounding);
  } else if (mode == "linear" || mode == "cubic") {
    if (mode == "cubic") {
      if (x.dim() != 4) a.refuse(fmt::format("cubic resizing of a rank-{} input; 4-D images are resized", x.dim()));
      const double coeff = a.attr<double>("cubic_coeff_a", -0.75);
      if (static_cast<float>(coeff) != -0.75F)
        a.refuse(fmt::format("cubic_coeff_a {} (PyTorch's bicubic has -0.75)", coeff));
      if (a.attr<std::int64_t>("exclude_outside", 0) != 0) a.refuse("exclude_outside 1 (PyTorch's bicubic has 0)");
    }
    bool size_one = false, fractional = false;
    for (std::size_t d = 2; d < rank; ++d) {
      size_one = size_one || out_size(d) == 1;
      const double exact = static_cast<double>(x.size(static_cast<std::int64_t>(d))) * (sizes.empty() ? scales[d] : 0.0);
      // (within float rounding: exporters write out / in as the nearest float at or above it)
      fractional = fractional || (sizes.empty() && exact - std::floor(exact) > 1e-5 * std::max(1.0, exact));
    }
    for (std::size_t d = 2; d < rank && mode == "linear" && sizes.empty(); ++d)
      if (scales[d] != 1.0 && out_size(d) == x.size(static_cast<std::int64_t>(d)))
        a.refuse(fmt::format("linear scale {} leaves a dim of size {} unchanged: PyTorch's interpolation then copies it",
                             scales[d], out_size(d)));
    if (coordinates == "pytorch_half_pixel" && size_one)
      a.refuse("pytorch_half_pixel maps a size-1 output to 0, unlike PyTorch's own interpolation");
    if (coordinates == "align_corners" && fractional)
      a.refuse("align_corners with scales that give a fractional size (ONNX then aligns to the fraction)");
    if (coordinates == "align_corners") {
      options.align_corners = true;
      if (options.size.empty())  // align_corners with scales: the output size they give
        for (std::size_t d = 2; d < rank; ++d) options.size.push_back(out_size(d));
      options.scale_factor.clear();
    } else if (coordinates != "half_pixel" && coordinates != "pytorch_half_pixel") {
      a.refuse(mode + " resizing is run with half_pixel or align_corners coordinates, got " + coordinates);
    }
    options.mode = mode == "cubic" ? "bicubic" : x.dim() == 3 ? "linear" : x.dim() == 4 ? "bilinear" : "trilinear";
  } else {
    a.refuse("mode " + mode + " is not supported (nearest, linear, cubic)");
  }
  return interpolate(x, options);
}

Tensor constant_node(const Args& a) {
  if (const auto t = a.attr<Tensor>("value")) return *t;
  if (const auto v = a.attr<double>("value_float")) return full({}, *v);
  if (const auto v = a.attr<std::int64_t>("value_int")) return full({}, static_cast<double>(*v), {.dtype = i64});
  if (const auto v = a.attr<std::vector<double>>("value_floats"))
    return from_vector(std::vector<float>(v->begin(), v->end()), {static_cast<std::int64_t>(v->size())});
  if (const auto v = a.attr<Ints>("value_ints")) return from_vector(*v, {static_cast<std::int64_t>(v->size())});
  a.refuse("no value xgrad reads (value, value_float(s), value_int(s))");
}

Tensor squeeze_node(const Args& a, bool unsqueeze) {
  const Tensor& x = a.in(0);
  const Ints axes = a.opset >= 13 ? (a.has(1) ? a.ints(1) : Ints{}) : a.attr<Ints>("axes", {});
  Shape shape = x.shape();
  if (unsqueeze) {
    const auto rank = static_cast<std::int64_t>(shape.size() + axes.size());
    Ints wrapped;
    for (std::int64_t v : axes) wrapped.push_back(a.axis(v, rank));
    std::sort(wrapped.begin(), wrapped.end());
    for (std::int64_t v : wrapped) shape.insert(shape.begin() + v, 1);
    return x.reshape(shape);
  }
  if (axes.empty()) return squeeze(x);
  std::vector<bool> drop(shape.size(), false);
  for (std::int64_t v : axes) {
    const std::int64_t d = a.axis(v, x.dim());
    if (shape[static_cast<std::size_t>(d)] != 1) a.refuse(fmt::format("axis {} has size {}, not 1", v, shape[static_cast<std::size_t>(d)]));
    drop[static_cast<std::size_t>(d)] = true;
  }
  Shape kept;
  for (std::size_t d = 0; d < shape.size(); ++d)
    if (!drop[d]) kept.push_back(shape[d]);
  return x.reshape(kept);
}

Tensor lrn_node(const Args& a) {
  const std::int64_t size = a.attr<std::int64_t>("size").value_or(0);
  if (size < 1 || size % 2 == 0) a.refuse(fmt::format("size {}: odd sizes are run", size));
  return local_response_norm(a.in(0), {.size = size, .alpha = a.attr<double>("alpha", 1e-4),
                                       .beta = a.attr<double>("beta", 0.75), .k = a.attr<double>("bias", 1.0)});
}

Tensor identity_node(const Args& a) {  // Identity, and Dropout in inference
  if (a.wants_output(1)) a.refuse("the mask output is not supported");
  return a.in(0);
}

Tensor transpose_node(const Args& a) {
  const Tensor& x = a.in(0);
  Ints perm(static_cast<std::size_t>(x.dim()));
  std::iota(perm.rbegin(), perm.rend(), 0);  // the default reverses the dims
  return x.permute(a.attr<Ints>("perm", perm));
}

// Selu's attributes default to PyTorch's constants rounded to float; those (or none)
// run selu, other values gamma * elu(x, alpha).
Tensor selu_node(const Args& a) {
  const double alpha = a.attr<double>("alpha", 1.67326319217681884765625);
  const double gamma = a.attr<double>("gamma", 1.05070102214813232421875);
  if (static_cast<float>(alpha) == 1.67326319217681884765625F && static_cast<float>(gamma) == 1.05070102214813232421875F)
    return selu(a.in(0));
  return mul(elu(a.in(0), alpha), gamma);
}

// max(0, min(1, alpha x + beta)); alpha = 1/6 (as a float) and beta = 1/2 is hardsigmoid.
Tensor hard_sigmoid_node(const Args& a) {
  const double alpha = a.attr<double>("alpha", 0.2), beta = a.attr<double>("beta", 0.5);
  if (static_cast<float>(alpha) == static_cast<float>(1.0 / 6) && beta == 0.5) return hardsigmoid(a.in(0));
  return clamp(add(mul(a.in(0), alpha), beta), 0.0, 1.0);
}

// A slope of 1 element or one per channel (shaped to broadcast along dim 1) is prelu's
// weight; any other slope broadcasting to x is run as relu(x) + slope * (x - relu(x)).
Tensor prelu_node(const Args& a) {
  const Tensor& x = a.in(0);
  const Tensor& slope = a.in(1);
  if (slope.dim() > x.dim()) a.refuse(fmt::format("slope {} has more dims than x {}", shape_to_string(slope.shape()),
                                                  shape_to_string(x.shape())));
  if (slope.numel() == 1) return prelu(x, slope.reshape({1}));
  Shape aligned(static_cast<std::size_t>(x.dim() - slope.dim()), 1);
  aligned.insert(aligned.end(), slope.shape().begin(), slope.shape().end());
  bool per_channel = x.dim() >= 2 && aligned[1] == x.size(1);
  for (std::size_t d = 0; d < aligned.size(); ++d) per_channel = per_channel && (d == 1 || aligned[d] == 1);
  if (per_channel) return prelu(x, slope.reshape({x.size(1)}));
  const Tensor positive = relu(x);
  return add(positive, mul(slope, sub(x, positive)));
}

using Runner = Tensor (*)(const Args&);

// Every operator xgrad runs, in one table (what load accepts is its keys).
const std::map<std::string, Runner>& runners() {
  static const std::map<std::string, Runner> table{
      {"Abs", [](const Args& a) { return abs(a.in(0)); }},
      {"Add", [](const Args& a) { return add(a.in(0), a.in(1)); }},
      {"AveragePool", [](const Args& a) { return pool(a, false); }},
      {"BatchNormalization", batch_normalization},
      {"Celu", [](const Args& a) { return celu(a.in(0), a.attr<double>("alpha", 1.0)); }},
      {"Clip", clip_node},
      {"Concat", [](const Args& a) {
         std::vector<Tensor> parts;
         for (std::size_t i = 0; a.has(i); ++i) parts.push_back(a.in(i));
         return cat(parts, a.axis(a.attr<std::int64_t>("axis").value_or(0), a.in(0).dim()));
       }},
      {"Constant", constant_node},
      {"Conv", conv},
      {"ConvTranspose", conv_transpose},
      {"Div", [](const Args& a) { return div(a.in(0), a.in(1)); }},
      {"Dropout", identity_node},
      {"Elu", [](const Args& a) { return elu(a.in(0), a.attr<double>("alpha", 1.0)); }},
      {"Exp", [](const Args& a) { return exp(a.in(0)); }},
      {"Flatten", flatten_node},
      {"Gemm", gemm},
      {"Gelu", [](const Args& a) { return gelu(a.in(0), a.attr<std::string>("approximate", "none")); }},
      {"GlobalAveragePool", global_average_pool},
      {"HardSigmoid", hard_sigmoid_node},
      {"HardSwish", [](const Args& a) { return hardswish(a.in(0)); }},
      {"Identity", identity_node},
      {"InstanceNormalization", instance_normalization},
      {"LRN", lrn_node},
      {"LayerNormalization", [](const Args& a) { return layer_normalization(a).front(); }},
      {"LeakyRelu", [](const Args& a) { return leaky_relu(a.in(0), a.attr<double>("alpha", 0.01)); }},
      {"Log", [](const Args& a) { return log(a.in(0)); }},
      {"LogSoftmax", [](const Args& a) { return softmax_node(a, true); }},
      {"MatMul", [](const Args& a) { return matmul(a.in(0), a.in(1)); }},
      {"MaxPool", [](const Args& a) { return pool(a, true); }},
      {"Mul", [](const Args& a) { return mul(a.in(0), a.in(1)); }},
      {"Neg", [](const Args& a) { return neg(a.in(0)); }},
      {"Pad", pad_node},
      {"PRelu", prelu_node},
      {"ReduceMean", reduce_mean_node},
      {"Pow", [](const Args& a) { return pow(a.in(0), a.in(1)); }},
      {"Relu", [](const Args& a) { return relu(a.in(0)); }},
      {"Reshape", reshape_node},
      {"Resize", resize_node},
      {"Selu", selu_node},
      {"Sigmoid", [](const Args& a) { return sigmoid(a.in(0)); }},
      {"Slice", slice_node},
      {"Softmax", [](const Args& a) { return softmax_node(a, false); }},
      {"Softplus", [](const Args& a) {  // log(1 + exp(x)): no threshold
         return softplus(a.in(0), 1.0, std::numeric_limits<double>::infinity());
       }},
      {"Sqrt", [](const Args& a) { return sqrt(a.in(0)); }},
      {"Squeeze", [](const Args& a) { return squeeze_node(a, false); }},
      {"Sub", [](const Args& a) { return sub(a.in(0), a.in(1)); }},
      {"Sum", [](const Args& a) {
         Tensor total = a.in(0);
         for (std::size_t i = 1; a.has(i); ++i) total = total + a.in(i);
         return total;
       }},
      {"Tanh", [](const Args& a) { return tanh(a.in(0)); }},
      {"Transpose", transpose_node},
      {"Unsqueeze", [](const Args& a) { return squeeze_node(a, true); }},
      {"Upsample", resize_node},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& supported_ops() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> names;
    for (const auto& [name, runner] : runners()) names.push_back(name);
    return names;
  }();
  return ops;
}

std::vector<Tensor> run_node(const Node& node, const std::vector<Tensor>& inputs, std::int64_t opset) {
  const Args a(node, inputs, opset);
  const auto it = runners().find(node.op_type);
  if (it == runners().end()) a.refuse("is not run by xgrad");
  if (node.op_type == "LayerNormalization") return layer_normalization(a);  // up to three outputs
  return {it->second(a)};
}

}  // namespace xgrad::onnx
