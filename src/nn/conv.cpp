#include "xgrad/nn/conv.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <numeric>

#include "ops/spatial.hpp"
#include "util/check.hpp"
#include "xgrad/nn/init.hpp"

namespace xgrad::nn {

using detail::expand_spatial;
using detail::fail;
using detail::str;

namespace {

// Channels positive and divisible by groups, as torch's _ConvNd.
void check_channels(const char* type, std::int64_t in, std::int64_t out, std::int64_t groups) {
  if (groups < 1) fail<ValueError>("{}: groups must be a positive integer, got {}", type, groups);
  if (in < 1 || out < 1)
    fail<ValueError>("{}: in_channels and out_channels must be positive, got {} and {}", type, in, out);
  if (in % groups != 0) fail<ValueError>("{}: in_channels ({}) must be divisible by groups ({})", type, in, groups);
  if (out % groups != 0)
    fail<ValueError>("{}: out_channels ({}) must be divisible by groups ({})", type, out, groups);
}

// [first, second, *kernel]
Shape weight_shape(std::int64_t first, std::int64_t second, const Spatial& kernel) {
  Shape shape{first, second};
  shape.insert(shape.end(), kernel.begin(), kernel.end());
  return shape;
}

std::int64_t product(const Spatial& values) {
  return std::accumulate(values.begin(), values.end(), std::int64_t{1}, std::multiplies<>());
}

bool all_equal(const Spatial& values, std::int64_t value) {
  return std::all_of(values.begin(), values.end(), [value](std::int64_t v) { return v == value; });
}

// The options with one value per spatial dim; padding resolved against the
// kernel ("same" is kept as it is, after checking it is allowed).
ConvOptions expanded(const char* type, std::size_t dims, const Spatial& kernel, const ConvOptions& options) {
  ConvOptions out;
  out.stride = expand_spatial(type, "stride", options.stride, dims, 1);
  out.dilation = expand_spatial(type, "dilation", options.dilation, dims, 1);
  out.groups = options.groups;
  const detail::ResolvedPadding padding = detail::resolve_padding(type, options.padding, kernel, out.stride,
                                                                  out.dilation);
  out.padding = options.padding.same ? options.padding : Padding::asymmetric(padding.begin, padding.end);
  out.padding_mode = options.padding_mode;
  if (out.padding_mode != "zeros" && out.padding_mode != "reflect" && out.padding_mode != "replicate" &&
      out.padding_mode != "circular")
    fail<ValueError>("{}: padding_mode must be \"zeros\", \"reflect\", \"replicate\" or \"circular\", got \"{}\"",
                     type, out.padding_mode);
  return out;
}

ConvTransposeOptions expanded(const char* type, std::size_t dims, const ConvTransposeOptions& options) {
  ConvTransposeOptions out;
  out.stride = expand_spatial(type, "stride", options.stride, dims, 1);
  out.padding = expand_spatial(type, "padding", options.padding, dims, 0);
  out.output_padding = expand_spatial(type, "output_padding", options.output_padding, dims, 0);
  out.dilation = expand_spatial(type, "dilation", options.dilation, dims, 1);
  out.groups = options.groups;
  for (std::size_t d = 0; d < dims; ++d)
    if (out.output_padding[d] >= out.stride[d] && out.output_padding[d] >= out.dilation[d])
      fail<ValueError>("{}: output_padding {} must be smaller than stride {} or dilation {} in every dim", type,
                       str(out.output_padding), str(out.stride), str(out.dilation));
  return out;
}

std::string padding_repr(const Padding& padding) {
  if (padding.same) return ", padding=same";
  if (padding.begin != padding.end) return fmt::format(", padding=(begin={}, end={})", str(padding.begin),
                                                       str(padding.end));
  return all_equal(padding.begin, 0) ? "" : ", padding=" + str(padding.begin);
}

// torch's _ConvNd.extra_repr: settings that differ from the defaults only.
struct ConvSettings {
  std::int64_t in, out;
  const Spatial& kernel;
  const Spatial& stride;
  std::string padding;  ///< already formatted, "" for none
  const Spatial& dilation;
  const Spatial& output_padding;
  std::int64_t groups;
  bool bias;
  std::string padding_mode = "zeros";
};

std::string conv_repr(const ConvSettings& s) {
  std::string out = fmt::format("{}, {}, kernel_size={}, stride={}{}", s.in, s.out, str(s.kernel), str(s.stride),
                                s.padding);
  if (!all_equal(s.dilation, 1)) out += ", dilation=" + str(s.dilation);
  if (!all_equal(s.output_padding, 0)) out += ", output_padding=" + str(s.output_padding);
  if (s.groups != 1) out += fmt::format(", groups={}", s.groups);
  if (!s.bias) out += ", bias=false";
  if (s.padding_mode != "zeros") out += fmt::format(", padding_mode={}", s.padding_mode);
  return out;
}

}  // namespace

// ---- convolution --------------------------------------------------------------------

ConvNd::ConvNd(const char* type_name, std::size_t dims, Function function, std::int64_t in, std::int64_t out,
               const Spatial& kernel, const ConvOptions& opts, bool with_bias)
    : Module(type_name),
      in_channels(in),
      out_channels(out),
      kernel_size(expand_spatial(type_name, "kernel_size", kernel, dims, 1)),
      options(expanded(type_name, dims, kernel_size, opts)),
      function_(function) {
  check_channels(type_name, in_channels, out_channels, options.groups);
  weight = register_parameter("weight", empty(weight_shape(out_channels, in_channels / options.groups, kernel_size)));
  if (with_bias) bias = register_parameter("bias", empty({out_channels}));
  reset_parameters();
}

Tensor ConvNd::forward(const Tensor& input) { return function_(input, weight, bias, options); }

std::string ConvNd::extra_repr() const {
  const Spatial no_output_padding(kernel_size.size(), 0);
  return conv_repr({in_channels, out_channels, kernel_size, options.stride, padding_repr(options.padding),
                    options.dilation, no_output_padding, options.groups, bias.defined(), options.padding_mode});
}

std::int64_t ConvNd::macs(const Tensor&, const Tensor& output) const {
  return output.numel() * (in_channels / options.groups) * product(kernel_size);
}

void ConvNd::reset_parameters() { init::default_init_(weight, bias); }

Conv1d::Conv1d(std::int64_t in, std::int64_t out, const Spatial& kernel, const Conv1dOptions& opts, bool with_bias)
    : ConvNd("Conv1d", 1, conv1d, in, out, kernel, opts, with_bias) {}
Conv2d::Conv2d(std::int64_t in, std::int64_t out, const Spatial& kernel, const Conv2dOptions& opts, bool with_bias)
    : ConvNd("Conv2d", 2, conv2d, in, out, kernel, opts, with_bias) {}
Conv3d::Conv3d(std::int64_t in, std::int64_t out, const Spatial& kernel, const Conv3dOptions& opts, bool with_bias)
    : ConvNd("Conv3d", 3, conv3d, in, out, kernel, opts, with_bias) {}

// ---- transposed convolution -----------------------------------------------------------

ConvTransposeNd::ConvTransposeNd(const char* type_name, std::size_t dims, Function function, std::int64_t in,
                                 std::int64_t out, const Spatial& kernel, const ConvTransposeOptions& opts,
                                 bool with_bias)
    : Module(type_name),
      in_channels(in),
      out_channels(out),
      kernel_size(expand_spatial(type_name, "kernel_size", kernel, dims, 1)),
      options(expanded(type_name, dims, opts)),
      function_(function) {
  check_channels(type_name, in_channels, out_channels, options.groups);
  weight = register_parameter("weight", empty(weight_shape(in_channels, out_channels / options.groups, kernel_size)));
  if (with_bias) bias = register_parameter("bias", empty({out_channels}));
  reset_parameters();
}

Tensor ConvTransposeNd::forward(const Tensor& input) { return function_(input, weight, bias, options); }

std::string ConvTransposeNd::extra_repr() const {
  const std::string padding = all_equal(options.padding, 0) ? "" : ", padding=" + str(options.padding);
  return conv_repr({in_channels, out_channels, kernel_size, options.stride, padding, options.dilation,
                    options.output_padding, options.groups, bias.defined()});
}

std::int64_t ConvTransposeNd::macs(const Tensor& input, const Tensor&) const {
  return input.numel() * (out_channels / options.groups) * product(kernel_size);
}

void ConvTransposeNd::reset_parameters() { init::default_init_(weight, bias); }

ConvTranspose1d::ConvTranspose1d(std::int64_t in, std::int64_t out, const Spatial& kernel,
                                 const ConvTranspose1dOptions& opts, bool with_bias)
    : ConvTransposeNd("ConvTranspose1d", 1, conv_transpose1d, in, out, kernel, opts, with_bias) {}
ConvTranspose2d::ConvTranspose2d(std::int64_t in, std::int64_t out, const Spatial& kernel,
                                 const ConvTranspose2dOptions& opts, bool with_bias)
    : ConvTransposeNd("ConvTranspose2d", 2, conv_transpose2d, in, out, kernel, opts, with_bias) {}
ConvTranspose3d::ConvTranspose3d(std::int64_t in, std::int64_t out, const Spatial& kernel,
                                 const ConvTranspose3dOptions& opts, bool with_bias)
    : ConvTransposeNd("ConvTranspose3d", 3, conv_transpose3d, in, out, kernel, opts, with_bias) {}

}  // namespace xgrad::nn
