// conv1d/2d/3d and conv_transpose1d/2d/3d on one N-d implementation.
//
// Every op is described by the ordinary convolution y = x ⋆ w behind it
// (kernels::ConvGeometry, spatial dims right-aligned into three). A convolution
// runs it forward; a transposed convolution runs its backward-data pass forward
// (its output is that convolution's x, its input the y). So three passes serve
// all six ops:
//                      output            input gradient    weight gradient
//   conv               forward(x)        backward_data(g)  backward_weight(dy = g, x = input)
//   conv_transpose     backward_data(x)  forward(g)        backward_weight(dy = input, x = g)
// and the bias gradient is the output gradient summed over batch and space.
// Depthwise convolutions (groups == input channels == output channels) take
// the direct kernels, everything else im2col and the GEMM. Under create_graph
// the backward runs the same passes as recorded ops (conv_pass), so that
// convolutions are differentiable to any order.

#include "xgrad/ops/conv.hpp"

#include <string>
#include <vector>

#include "autograd/record.hpp"
#include "kernels/conv.hpp"
#include "kernels/norm.hpp"
#include "ops/elementwise.hpp"
#include "ops/spatial.hpp"
#include "xgrad/ops/reduction.hpp"
#include "xgrad/ops/shape.hpp"
#include "ops/trace.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::SavedTensor;
using detail::str;
using kernels::ConvGeometry;

namespace {

// ---- validation -----------------------------------------------------------------

const char* input_layout(std::size_t dims) {
  static const char* const names[] = {"[N, C, L]", "[N, C, H, W]", "[N, C, D, H, W]"};
  return names[dims - 1];
}

const char* weight_layout(std::size_t dims, bool transposed) {
  static const char* const conv[] = {"[C_out, C_in / groups, kL]", "[C_out, C_in / groups, kH, kW]",
                                     "[C_out, C_in / groups, kD, kH, kW]"};
  static const char* const conv_transpose[] = {"[C_in, C_out / groups, kL]", "[C_in, C_out / groups, kH, kW]",
                                               "[C_in, C_out / groups, kD, kH, kW]"};
  return (transposed ? conv_transpose : conv)[dims - 1];
}

// Dtypes, ranks, channel counts against weight and groups, and the bias shape.
void check_operands(const char* op, std::size_t dims, const Tensor& input, const Tensor& weight, const Tensor& bias,
                    std::int64_t groups, bool transposed) {
  detail::check_defined(op, input);
  detail::check_defined(op, weight, "weight");
  detail::check_floating(op, input);
  detail::check_same_dtype(op, input, weight);
  if (bias.defined()) detail::check_same_dtype(op, input, bias);
  const auto rank = static_cast<std::int64_t>(dims) + 2;
  if (input.dim() != rank)
    fail<ShapeError>("{}: input must be {}-D {} (or {}-D without the batch dim), got shape {}", op, rank,
                     input_layout(dims), rank - 1, str(input.shape()));
  if (weight.dim() != rank)
    fail<ShapeError>("{}: weight must be {}-D {}, got shape {}", op, rank, weight_layout(dims, transposed),
                     str(weight.shape()));
  for (std::int64_t d = 2; d < rank; ++d)
    if (weight.size(d) < 1) fail<ShapeError>("{}: weight {} has an empty kernel", op, str(weight.shape()));
  if (groups < 1) fail<ValueError>("{}: groups must be >= 1, got {}", op, groups);

  const std::int64_t channels = input.size(1);
  if (channels % groups != 0)
    fail<ValueError>("{}: input has {} channels, which groups = {} does not divide (input {})", op, channels, groups,
                     str(input.shape()));
  // Input channels the weight expects; output channels it makes.
  std::int64_t expected = weight.size(0), out_channels = weight.size(1) * groups;
  if (!transposed) {
    if (weight.size(0) % groups != 0)
      fail<ValueError>("{}: weight has {} output channels, which groups = {} does not divide (weight {})", op,
                       weight.size(0), groups, str(weight.shape()));
    expected = weight.size(1) * groups;
    out_channels = weight.size(0);
  }
  if (channels != expected)
    fail<ShapeError>(
        "{}: input has {} channels but weight expects {}{} (input {}, weight {})", op, channels, expected,
        !transposed && groups > 1 ? fmt::format(" ({} per group x {} groups)", weight.size(1), groups) : std::string(),
        str(input.shape()), str(weight.shape()));
  if (bias.defined() && bias.shape() != Shape{out_channels})
    fail<ShapeError>("{}: bias has shape {} but weight {} needs [{}]", op, str(bias.shape()), str(weight.shape()),
                     out_channels);
}

// PyTorch's rule: output_padding must be smaller than stride or dilation.
void check_output_padding(const char* op, const Spatial& output_padding, const Spatial& stride,
                          const Spatial& dilation) {
  for (std::size_t d = 0; d < output_padding.size(); ++d)
    if (output_padding[d] >= stride[d] && output_padding[d] >= dilation[d])
      fail<ValueError>("{}: output_padding {} must be smaller than stride {} or dilation {} in every dim", op,
                       str(output_padding), str(stride), str(dilation));
}

// ---- geometry ---------------------------------------------------------------------

// One spatial dim of the ordinary convolution behind an op.
struct Dim {
  std::int64_t in, out, kernel, stride, pad, dilation;
};

ConvGeometry make_geometry(std::int64_t batch, std::int64_t groups, std::int64_t x_channels, std::int64_t y_channels,
                           const std::vector<Dim>& dims) {
  ConvGeometry g;
  g.batch = batch;
  g.groups = groups;
  g.x_channels = x_channels;
  g.y_channels = y_channels;
  const std::size_t first = 3 - dims.size();  // missing leading dims stay size 1
  for (std::size_t d = 0; d < dims.size(); ++d) {
    g.in[first + d] = dims[d].in;
    g.out[first + d] = dims[d].out;
    g.kernel[first + d] = dims[d].kernel;
    g.stride[first + d] = dims[d].stride;
    g.pad[first + d] = dims[d].pad;
    g.dilation[first + d] = dims[d].dilation;
  }
  return g;
}

Spatial spatial_sizes(const Tensor& t) { return Spatial(t.shape().begin() + 2, t.shape().end()); }

// [batch, channels, *x or *y sizes of the geometry]
Shape image_shape(const ConvGeometry& g, std::int64_t channels, const std::int64_t (&sizes)[3], std::size_t dims) {
  Shape shape{g.batch, channels};
  shape.insert(shape.end(), sizes + 3 - dims, sizes + 3);
  return shape;
}

// ---- the passes on tensors (not recorded) -----------------------------------------

// The kernels read dense row-major data.
Tensor dense(const Tensor& t) { return t.is_contiguous() ? t : detail::copy_as(t, t.dtype()); }

enum class Direction { forward, backward };

// forward: y = in ⋆ w + bias; backward: x = the backward-data pass of dy = in, plus bias.
Tensor data_pass(Direction direction, const ConvGeometry& g, const Tensor& in, const Tensor& weight, const Tensor& bias,
                 const Shape& out_shape) {
  const Tensor in_d = dense(in), w_d = dense(weight), b_d = bias.defined() ? dense(bias) : Tensor();
  Tensor out = detail::make_tensor(out_shape, in.dtype());
  detail::visit_floating(in.dtype(), "conv", [&]<class T>() {
    const T* b = b_d.defined() ? detail::element_ptr<T>(b_d) : nullptr;
    if (direction == Direction::forward) {
      kernels::conv_forward<T>(g, detail::element_ptr<T>(in_d), detail::element_ptr<T>(w_d), b,
                               detail::element_ptr<T>(out));
    } else {
      kernels::conv_backward_data<T>(g, detail::element_ptr<T>(in_d), detail::element_ptr<T>(w_d), b,
                                     detail::element_ptr<T>(out));
    }
  });
  return out;
}

// The weight gradient for output gradient dy and input x.
Tensor weight_pass(const ConvGeometry& g, const Tensor& dy, const Tensor& x, const Shape& weight_shape) {
  const Tensor dy_d = dense(dy), x_d = dense(x);
  Tensor dw = detail::make_tensor(weight_shape, dy.dtype());
  detail::visit_floating(dy.dtype(), "conv", [&]<class T>() {
    kernels::conv_backward_weight<T>(g, detail::element_ptr<T>(dy_d), detail::element_ptr<T>(x_d),
                                     detail::element_ptr<T>(dw));
  });
  return dw;
}

// grad [N, C, *spatial] summed to [C], a channel's runs at a time (sum over
// dims {0, 2, ...} would copy grad into channel-major order first).
Tensor bias_gradient(const Tensor& grad) {
  const Tensor g = dense(grad);
  std::int64_t spatial = 1;
  for (std::int64_t d = 2; d < g.dim(); ++d) spatial *= g.size(d);
  Tensor out = detail::make_tensor({g.size(1)}, g.dtype());
  detail::visit_floating(g.dtype(), "conv bias gradient", [&]<class T>() {
    kernels::channel_sums<T>({.batch = g.size(0), .channels = g.size(1), .spatial = spatial},
                             detail::element_ptr<T>(g), detail::element_ptr<T>(out));
  });
  return out;
}

// The three passes as recorded ops, for backwards under create_graph: each is
// bilinear in its two operands, and its gradients are passes again, so
// convolutions are differentiable to any order. With g the geometry of y = x ⋆ w,
//   forward(x, w) -> y      d/dx = data(gy, w)     d/dw = weight(gy, x)
//   data(dy, w)   -> x      d/ddy = forward(gx, w)  d/dw = weight(dy, gx)
//   weight(dy, x) -> w      d/ddy = forward(x, gw)  d/dx = data(dy, gw)
enum class Pass { forward, data, weight };

Tensor conv_pass(Pass pass, const ConvGeometry& g, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = pass == Pass::weight ? weight_pass(g, a, b, out_shape)
                                    : data_pass(pass == Pass::forward ? Direction::forward : Direction::backward, g, a,
                                                b, Tensor(), out_shape);
  if (!detail::any_requires_grad({a, b})) return out;
  static const char* const names[] = {"ConvForwardPassBackward", "ConvDataPassBackward", "ConvWeightPassBackward"};
  const char* node = names[static_cast<int>(pass)];
  return detail::record(node, {a, b}, out,
                        [node, pass, g, sa = SavedTensor(a), sb = SavedTensor(b), a_shape = a.shape(),
                         b_shape = b.shape()](const BackwardArgs& args) {
                          const Tensor& go = args.grad();
                          const Tensor va = sa.unpack(node), vb = sb.unpack(node);
                          Tensor ga, gb;
                          switch (pass) {
                            case Pass::forward:  // a = x, b = w
                              if (args.needs_grad(0)) ga = conv_pass(Pass::data, g, go, vb, a_shape);
                              if (args.needs_grad(1)) gb = conv_pass(Pass::weight, g, go, va, b_shape);
                              break;
                            case Pass::data:  // a = dy, b = w
                              if (args.needs_grad(0)) ga = conv_pass(Pass::forward, g, go, vb, a_shape);
                              if (args.needs_grad(1)) gb = conv_pass(Pass::weight, g, va, go, b_shape);
                              break;
                            case Pass::weight:  // a = dy, b = x
                              if (args.needs_grad(0)) ga = conv_pass(Pass::forward, g, vb, go, a_shape);
                              if (args.needs_grad(1)) gb = conv_pass(Pass::data, g, va, go, b_shape);
                              break;
                          }
                          return std::vector<Tensor>{ga, gb};
                        });
}

// The bias gradient as ops: grad summed over the batch and spatial dims.
Tensor bias_gradient_recorded(const Tensor& grad) {
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < grad.dim(); ++d) dims.push_back(d);
  return sum(grad, Dims(dims));
}

// Connects an op's output to its node when an input needs a gradient. The op
// ran its geometry's pass `direction` (forward for conv, backward for
// conv_transpose); its input gradient is the opposite pass, and its weight
// gradient takes the output gradient and the input as dy and x, or as x and dy.
Tensor record_conv(std::string node, Direction direction, const ConvGeometry& g, const Tensor& input,
                   const Tensor& weight, const Tensor& bias, const Tensor& out) {
  if (!detail::any_requires_grad({input, weight, bias})) return out;
  const bool transposed = direction == Direction::backward;
  // The input is needed for the weight gradient only, the weight for the input
  // gradient only (a tangent needs the same as a gradient: forward mode pairs them).
  const auto needed = [](const Tensor& t) { return t.requires_grad() || autograd::detail::has_tangent(t); };
  return detail::record(node, {input, weight, bias}, out,
                        [node, g, transposed, sx = SavedTensor(needed(weight) ? input : Tensor()),
                         sw = SavedTensor(needed(input) ? weight : Tensor()), x_shape = input.shape(),
                         w_shape = weight.shape()](const BackwardArgs& args) {
                          const Tensor& grad = args.grad();  // [N, C_out, *out]
                          Tensor gx, gw, gb;
                          if (detail::creating_graph()) {
                            if (args.needs_grad(0))
                              gx = conv_pass(transposed ? Pass::forward : Pass::data, g, grad, sw.unpack(node), x_shape);
                            if (args.needs_grad(1))
                              gw = transposed ? conv_pass(Pass::weight, g, sx.unpack(node), grad, w_shape)
                                              : conv_pass(Pass::weight, g, grad, sx.unpack(node), w_shape);
                            if (args.needs_grad(2)) gb = bias_gradient_recorded(grad);
                            return std::vector<Tensor>{gx, gw, gb};
                          }
                          if (args.needs_grad(0))  // [N, C_in, *in]
                            gx = data_pass(transposed ? Direction::forward : Direction::backward, g, grad,
                                           sw.unpack(node), Tensor(), x_shape);
                          if (args.needs_grad(1)) {  // weight's shape
                            const Tensor x = sx.unpack(node);
                            gw = transposed ? weight_pass(g, x, grad, w_shape) : weight_pass(g, grad, x, w_shape);
                          }
                          if (args.needs_grad(2)) gb = bias_gradient(grad);  // [C_out]
                          return std::vector<Tensor>{gx, gw, gb};
                        });
}

// ---- the ops ----------------------------------------------------------------------

// Whether input lacks the batch dim ([C, *spatial]), which PyTorch runs as a batch of one.
bool unbatched(const Tensor& input, std::size_t dims) {
  return input.defined() && input.dim() == static_cast<std::int64_t>(dims + 1);
}

Tensor conv_nd(const char* op, std::size_t dims, const Tensor& input, const Tensor& weight, const Tensor& bias,
               const ConvOptions& options) {
  if (unbatched(input, dims)) return squeeze(conv_nd(op, dims, unsqueeze(input, 0), weight, bias, options), 0);
  const detail::trace::Scope scope;
  check_operands(op, dims, input, weight, bias, options.groups, false);
  const Spatial in = spatial_sizes(input), kernel = spatial_sizes(weight);
  const Spatial stride = detail::expand_spatial(op, "stride", options.stride, dims, 1);
  const Spatial dilation = detail::expand_spatial(op, "dilation", options.dilation, dims, 1);
  const detail::ResolvedPadding padding = detail::resolve_padding(op, options.padding, kernel, stride, dilation);
  if (options.padding_mode != "zeros") {
    if (options.padding_mode != "reflect" && options.padding_mode != "replicate" && options.padding_mode != "circular")
      fail<ValueError>("{}: padding_mode must be \"zeros\", \"reflect\", \"replicate\" or \"circular\", got \"{}\"",
                       op, options.padding_mode);
    std::vector<std::int64_t> pads;  // pad's order: from the last dim
    for (std::size_t d = dims; d-- > 0;) pads.insert(pads.end(), {padding.begin[d], padding.end[d]});
    ConvOptions unpadded = options;
    unpadded.padding = {};
    unpadded.padding_mode = "zeros";
    return conv_nd(op, dims, pad(input, pads, options.padding_mode), weight, bias, unpadded);
  }
  std::vector<Dim> spatial;
  for (std::size_t d = 0; d < dims; ++d)
    spatial.push_back(
        {in[d],
         detail::conv_output_size(op, in[d], kernel[d], stride[d], padding.begin[d], padding.end[d], dilation[d]),
         kernel[d], stride[d], padding.begin[d], dilation[d]});
  const ConvGeometry g = make_geometry(input.size(0), options.groups, input.size(1), weight.size(0), spatial);
  const Tensor out = data_pass(Direction::forward, g, input, weight, bias, image_shape(g, g.y_channels, g.out, dims));
  if (scope.recording())
    scope.record("conv", {input, weight, bias}, out,
                 {{"stride", stride}, {"pad_begin", padding.begin}, {"pad_end", padding.end}, {"dilation", dilation},
                  {"groups", options.groups}});
  return record_conv(fmt::format("Conv{}dBackward", dims), Direction::forward, g, input, weight, bias, out);
}

Tensor conv_transpose_nd(const char* op, std::size_t dims, const Tensor& input, const Tensor& weight,
                         const Tensor& bias, const ConvTransposeOptions& options) {
  if (unbatched(input, dims))
    return squeeze(conv_transpose_nd(op, dims, unsqueeze(input, 0), weight, bias, options), 0);
  const detail::trace::Scope scope;
  check_operands(op, dims, input, weight, bias, options.groups, true);
  const Spatial in = spatial_sizes(input), kernel = spatial_sizes(weight);
  const Spatial stride = detail::expand_spatial(op, "stride", options.stride, dims, 1);
  const Spatial padding = detail::expand_spatial(op, "padding", options.padding, dims, 0);
  const Spatial output_padding = detail::expand_spatial(op, "output_padding", options.output_padding, dims, 0);
  const Spatial dilation = detail::expand_spatial(op, "dilation", options.dilation, dims, 1);
  check_output_padding(op, output_padding, stride, dilation);
  // The convolution this op transposes maps the output (its x) to the input (its y).
  std::vector<Dim> spatial;
  for (std::size_t d = 0; d < dims; ++d) {
    const std::int64_t out =
        (in[d] - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel[d] - 1) + output_padding[d] + 1;
    if (out < 1)
      fail<ShapeError>(
          "{}: the output would have size {} along spatial dim {} (input {}, kernel {}, stride {}, "
          "padding {}, output_padding {}, dilation {})",
          op, out, d, str(input.shape()), str(kernel), str(stride), str(padding), str(output_padding), str(dilation));
    spatial.push_back({out, in[d], kernel[d], stride[d], padding[d], dilation[d]});
  }
  const ConvGeometry g =
      make_geometry(input.size(0), options.groups, weight.size(1) * options.groups, input.size(1), spatial);
  const Tensor out = data_pass(Direction::backward, g, input, weight, bias, image_shape(g, g.x_channels, g.in, dims));
  if (scope.recording())
    scope.record("conv_transpose", {input, weight, bias}, out,
                 {{"stride", stride}, {"padding", padding}, {"output_padding", output_padding}, {"dilation", dilation},
                  {"groups", options.groups}});
  return record_conv(fmt::format("ConvTranspose{}dBackward", dims), Direction::backward, g, input, weight, bias, out);
}

}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv1dOptions& options) {
  return conv_nd("conv1d", 1, input, weight, bias, options);
}
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  return conv_nd("conv2d", 2, input, weight, bias, options);
}
Tensor conv3d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv3dOptions& options) {
  return conv_nd("conv3d", 3, input, weight, bias, options);
}

Tensor conv_transpose1d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const ConvTranspose1dOptions& options) {
  return conv_transpose_nd("conv_transpose1d", 1, input, weight, bias, options);
}
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const ConvTranspose2dOptions& options) {
  return conv_transpose_nd("conv_transpose2d", 2, input, weight, bias, options);
}
Tensor conv_transpose3d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const ConvTranspose3dOptions& options) {
  return conv_transpose_nd("conv_transpose3d", 3, input, weight, bias, options);
}

}  // namespace xgrad
