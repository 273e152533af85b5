// batch_norm, group_norm, layer_norm, instance_norm, dropout and
// local_response_norm. The norms run the kernels of kernels/norm.hpp forward and
// backward (group, layer and instance norm share the group-norm kernels), and
// under create_graph differentiate a recomputation made of differentiable ops;
// dropout saves its scaled mask and multiplies the gradient by it.

#include "xgrad/ops/normalization.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "autograd/record.hpp"
#include "kernels/norm.hpp"
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

namespace {

// t's values in a contiguous tensor (t itself when it already is one); not recorded.
Tensor contiguous_values(const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  return detail::copy_as(t, t.dtype());
}

// The data of an optional tensor (null when undefined).
template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? detail::element_ptr<T>(t) : nullptr;
}

// An input [N, C, *spatial] seen as contiguous [N, C, S].
kernels::NormLayout norm_layout(const Tensor& input) {
  std::int64_t spatial = 1;
  for (std::size_t d = 2; d < input.shape().size(); ++d) spatial *= input.shape()[d];
  return {input.shape()[0], input.shape()[1], spatial};
}

void check_norm_input(const char* op, const Tensor& input) {
  detail::check_defined(op, input);
  detail::check_floating(op, input);
  if (input.dim() < 2)
    fail<ShapeError>("{}: expected an input [N, C] or [N, C, *spatial], got {}", op, str(input.shape()));
}

// ---- batch norm -------------------------------------------------------------------

struct NamedTensor {
  const char* name;
  const Tensor& tensor;
};

void check_batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                      const Tensor& bias, const BatchNormOptions& options) {
  check_norm_input("batch_norm", input);
  const std::int64_t channels = input.shape()[1];
  for (const NamedTensor& t : {NamedTensor{"running_mean", running_mean}, NamedTensor{"running_var", running_var},
                               NamedTensor{"weight", weight}, NamedTensor{"bias", bias}}) {
    if (!t.tensor.defined()) continue;
    if (t.tensor.shape() != Shape{channels})
      fail<ShapeError>("batch_norm: {} has shape {} but the input {} has {} channels (expected [{}])", t.name,
                       str(t.tensor.shape()), str(input.shape()), channels, channels);
    if (t.tensor.dtype() != input.dtype())
      fail<DTypeError>("batch_norm: {} has dtype {} but the input has dtype {}; convert one with .to()", t.name,
                       dtype_name(t.tensor.dtype()), dtype_name(input.dtype()));
  }
  for (const NamedTensor& t : {NamedTensor{"running_mean", running_mean}, NamedTensor{"running_var", running_var}})
    if (t.tensor.defined() && t.tensor.requires_grad())
      fail<ValueError>(
          "batch_norm: {} requires grad, but running statistics are buffers updated in place; "
          "pass one that does not (e.g. detach() it)",
          t.name);
  if (running_mean.defined() != running_var.defined())
    fail<ValueError>("batch_norm: running_mean and running_var go together, but only {} was given",
                     running_mean.defined() ? "running_mean" : "running_var");
  if (!options.training && !running_mean.defined())
    fail<ValueError>(
        "batch_norm: evaluation (training = false) normalises with the running statistics, but "
        "running_mean and running_var were not given (input {})",
        str(input.shape()));
  if (options.training && norm_layout(input).per_channel() < 2)
    fail<ValueError>("batch_norm: expected more than 1 value per channel when training, got input {}",
                     str(input.shape()));
}

// running = (1 - momentum) * running + momentum * batch, with the unbiased batch
// variance (n / (n - 1) times the biased one) for running_var. In place, so the
// buffers' versions move on and any graph that saved them notices.
void update_running_stats(Tensor running_mean, Tensor running_var, const Tensor& batch_mean, const Tensor& batch_var,
                          std::int64_t n, double momentum) {
  running_mean.mul_(1.0 - momentum).add_(batch_mean, momentum);
  running_var.mul_(1.0 - momentum).add_(batch_var, momentum * static_cast<double>(n) / static_cast<double>(n - 1));
}

// The statistics an output was normalised with, kept for backward.
struct NormStatistics {
  Tensor mean, invstd;
};

// Training: out = batch-normalised x; also writes the biased batch variance to `var`.
NormStatistics normalise_with_batch(const kernels::NormLayout& layout, const Tensor& x, const Tensor& gamma,
                                    const Tensor& beta, double eps, const Tensor& out, const Tensor& var) {
  NormStatistics stats{detail::make_tensor({layout.channels}, x.dtype()),
                       detail::make_tensor({layout.channels}, x.dtype())};
  detail::visit_floating(x.dtype(), "batch_norm", [&]<class T>() {
    kernels::batch_norm_train_forward<T>(layout, detail::element_ptr<T>(x), data_or_null<T>(gamma),
                                         data_or_null<T>(beta), eps, detail::element_ptr<T>(out),
                                         detail::element_ptr<T>(stats.mean), detail::element_ptr<T>(var),
                                         detail::element_ptr<T>(stats.invstd));
  });
  return stats;
}

// Evaluation: out = x normalised with the running statistics. They are copied,
// so that later updates of the buffers do not reach this graph.
NormStatistics normalise_with_running(const kernels::NormLayout& layout, const Tensor& x, const Tensor& running_mean,
                                      const Tensor& running_var, const Tensor& gamma, const Tensor& beta, double eps,
                                      const Tensor& out) {
  NormStatistics stats{
      detail::copy_as(running_mean, x.dtype()),
      detail::unary_map("batch_norm", running_var, [eps](auto v) { return 1.0 / std::sqrt(v + eps); })};
  detail::visit_floating(x.dtype(), "batch_norm", [&]<class T>() {
    kernels::batch_norm_eval_forward<T>(layout, detail::element_ptr<T>(x), detail::element_ptr<T>(stats.mean),
                                        detail::element_ptr<T>(stats.invstd), data_or_null<T>(gamma),
                                        data_or_null<T>(beta), detail::element_ptr<T>(out));
  });
  return stats;
}

// Batch norm of in = {x, weight, bias} composed of differentiable ops, for
// backwards under create_graph: with the batch's statistics (training), or with
// the saved running ones (evaluation, constants).
Tensor batch_norm_composite(const std::vector<Tensor>& in, const NormStatistics& stats, double eps, bool training) {
  const Tensor& x = in[0];
  Shape per_channel(static_cast<std::size_t>(x.dim()), 1);
  per_channel[1] = x.size(1);
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  Tensor xhat;
  if (training) {
    const Tensor centred = x - x.mean(Dims(dims), true);
    xhat = centred / sqrt((centred * centred).mean(Dims(dims), true) + eps);
  } else {
    xhat = (x - stats.mean.reshape(per_channel)) * stats.invstd.reshape(per_channel);
  }
  if (in[1].defined()) xhat = xhat * in[1].reshape(per_channel);
  if (in[2].defined()) xhat = xhat + in[2].reshape(per_channel);
  return xhat;
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, const BatchNormOptions& options) {
  return detail::trace::traced(
      "batch_norm",
      [&]() -> Tensor {
        check_batch_norm(input, running_mean, running_var, weight, bias, options);
        const kernels::NormLayout layout = norm_layout(input);
        const Tensor x = contiguous_values(input);
        const Tensor gamma = contiguous_values(weight);
        const Tensor beta = contiguous_values(bias);
        Tensor out = detail::make_tensor(input.shape(), input.dtype());
        NormStatistics stats;
        if (options.training) {
          const Tensor var = detail::make_tensor({layout.channels}, input.dtype());
          stats = normalise_with_batch(layout, x, gamma, beta, options.eps, out, var);
          if (running_mean.defined())
            update_running_stats(running_mean, running_var, stats.mean, var, layout.per_channel(), options.momentum);
        } else {
          stats = normalise_with_running(layout, x, running_mean, running_var, gamma, beta, options.eps, out);
        }
        if (!detail::any_requires_grad({input, weight, bias})) return out;
        return detail::record(
            "BatchNormBackward", {input, weight, bias}, out,
            [sx = SavedTensor(input), sw = SavedTensor(weight), sb = SavedTensor(bias), stats, layout,
             eps = options.eps, training = options.training](const BackwardArgs& args) {
              // grad [N, C, *] -> input [N, C, *], weight [C], bias [C]
              if (detail::creating_graph())
                return detail::gradients_by_recomputation(
                    [&](const std::vector<Tensor>& in) { return batch_norm_composite(in, stats, eps, training); },
                    {sx.unpack("BatchNormBackward"), sw.unpack("BatchNormBackward"), sb.unpack("BatchNormBackward")},
                    args.grad(), args.needs);
              const Tensor saved_input = contiguous_values(sx.unpack("BatchNormBackward"));
              const Tensor saved_weight = contiguous_values(sw.unpack("BatchNormBackward"));
              const Tensor dy = contiguous_values(args.grad());
              const DType type = saved_input.dtype();
              const Tensor dx = args.needs_grad(0) ? detail::make_tensor(saved_input.shape(), type) : Tensor();
              const Tensor dgamma = args.needs_grad(1) ? detail::make_tensor({layout.channels}, type) : Tensor();
              const Tensor dbeta = args.needs_grad(2) ? detail::make_tensor({layout.channels}, type) : Tensor();
              detail::visit_floating(type, "BatchNormBackward", [&]<class T>() {
                kernels::batch_norm_backward<T>(layout, training, detail::element_ptr<T>(dy),
                                                detail::element_ptr<T>(saved_input), detail::element_ptr<T>(stats.mean),
                                                detail::element_ptr<T>(stats.invstd), data_or_null<T>(saved_weight),
                                                data_or_null<T>(dx), data_or_null<T>(dbeta), data_or_null<T>(dgamma));
              });
              return std::vector<Tensor>{dx, dgamma, dbeta};
            });
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{
            {input, weight, bias, running_mean, running_var},
            {{"training", std::int64_t{options.training}}, {"momentum", options.momentum}, {"eps", options.eps}}};
      });
}

// ---- group norm, layer norm, instance norm ------------------------------------------

namespace {

// A weight, bias or running statistic of `op`: of shape `expected` and the input's dtype.
void check_parameter(const char* op, const NamedTensor& t, const Shape& expected, const Tensor& input,
                     const char* what) {
  if (!t.tensor.defined()) return;
  if (t.tensor.shape() != expected)
    fail<ShapeError>("{}: {} has shape {} but the input {} needs {} ({})", op, t.name, str(t.tensor.shape()),
                     str(input.shape()), str(expected), what);
  if (t.tensor.dtype() != input.dtype())
    fail<DTypeError>("{}: {} has dtype {} but the input has dtype {}; convert one with .to()", op, t.name,
                     dtype_name(t.tensor.dtype()), dtype_name(input.dtype()));
}

// [C, 1, ..., 1]: a per-channel [C] tensor broadcast against input [N, C, *spatial].
Shape per_channel_shape(const Tensor& input) {
  Shape shape(static_cast<std::size_t>(input.dim() - 1), 1);
  shape[0] = input.size(1);
  return shape;
}

// Group-wise normalisation of in = {x, weight, bias} composed of differentiable
// ops, for backwards under create_graph: x seen as [rows, L], each row normalised
// with its mean and biased variance, weight and bias reshaped to param_shape.
Tensor grouped_composite(const std::vector<Tensor>& in, const kernels::GroupNormLayout& layout,
                         const Shape& param_shape, double eps) {
  const Tensor& x = in[0];
  const Tensor rows = x.reshape({layout.rows(), layout.row_length()});
  const Tensor centred = rows - rows.mean(1, true);
  Tensor y = (centred / sqrt((centred * centred).mean(1, true) + eps)).reshape(x.shape());
  if (in[1].defined()) y = y * in[1].reshape(param_shape);
  if (in[2].defined()) y = y + in[2].reshape(param_shape);
  return y;
}

// The statistics a group-wise normalisation computed, [rows] each (the mean, the
// biased variance), for instance norm's running statistics.
struct GroupStatistics {
  Tensor mean, var;
};

// Group norm, layer norm and instance norm: input normalised per row of `layout`
// by the group-norm kernels, recorded as `node`, whose backward runs the fused
// kernel (or, under create_graph, differentiates grouped_composite); weight and
// bias are broadcast as param_shape. Fills *statistics when it is not null.
Tensor normalise_groups(const char* op, const char* node, const Tensor& input, const kernels::GroupNormLayout& layout,
                        const Shape& param_shape, const Tensor& weight, const Tensor& bias, double eps,
                        GroupStatistics* statistics = nullptr) {
  const Tensor x = contiguous_values(input);
  const Tensor gamma = contiguous_values(weight);
  const Tensor beta = contiguous_values(bias);
  const DType dtype = input.dtype();
  Tensor out = detail::make_tensor(input.shape(), dtype);
  const NormStatistics stats{detail::make_tensor({layout.rows()}, dtype), detail::make_tensor({layout.rows()}, dtype)};
  const Tensor var = statistics ? detail::make_tensor({layout.rows()}, dtype) : Tensor();
  detail::visit_floating(dtype, op, [&]<class T>() {
    kernels::group_norm_forward<T>(layout, detail::element_ptr<T>(x), data_or_null<T>(gamma), data_or_null<T>(beta),
                                   eps, detail::element_ptr<T>(out), detail::element_ptr<T>(stats.mean),
                                   data_or_null<T>(var), detail::element_ptr<T>(stats.invstd));
  });
  if (statistics) *statistics = {stats.mean, var};
  if (!detail::any_requires_grad({input, weight, bias})) return out;
  return detail::record(
      node, {input, weight, bias}, out,
      [sx = SavedTensor(input), sw = SavedTensor(weight), sb = SavedTensor(bias), stats, layout, param_shape, eps,
       node](const BackwardArgs& args) {
        // grad [*input] -> input [*input], weight and bias [*param]
        if (detail::creating_graph())
          return detail::gradients_by_recomputation(
              [&](const std::vector<Tensor>& in) { return grouped_composite(in, layout, param_shape, eps); },
              {sx.unpack(node), sw.unpack(node), sb.unpack(node)}, args.grad(), args.needs);
        const Tensor saved_input = contiguous_values(sx.unpack(node));
        const Tensor saved_weight = contiguous_values(sw.unpack(node));
        const Tensor dy = contiguous_values(args.grad());
        const DType type = saved_input.dtype();
        const Tensor dx = args.needs_grad(0) ? detail::make_tensor(saved_input.shape(), type) : Tensor();
        const Tensor dgamma = args.needs_grad(1) ? detail::make_tensor(sw.unpack(node).shape(), type) : Tensor();
        const Tensor dbeta = args.needs_grad(2) ? detail::make_tensor(sb.unpack(node).shape(), type) : Tensor();
        detail::visit_floating(type, node, [&]<class T>() {
          kernels::group_norm_backward<T>(layout, detail::element_ptr<T>(dy), detail::element_ptr<T>(saved_input),
                                          detail::element_ptr<T>(stats.mean), detail::element_ptr<T>(stats.invstd),
                                          data_or_null<T>(saved_weight), data_or_null<T>(dx), data_or_null<T>(dgamma),
                                          data_or_null<T>(dbeta));
        });
        return std::vector<Tensor>{dx, dgamma, dbeta};
      });
}

std::int64_t spatial_size(const Tensor& input) { return norm_layout(input).spatial; }

}  // namespace

Tensor group_norm(const Tensor& input, std::int64_t num_groups, const Tensor& weight, const Tensor& bias,
                  const GroupNormOptions& options) {
  return detail::trace::traced(
      "group_norm",
      [&]() -> Tensor {
        check_norm_input("group_norm", input);
        const std::int64_t C = input.size(1);
        if (num_groups < 1) fail<ValueError>("group_norm: num_groups must be positive, got {}", num_groups);
        if (C % num_groups != 0)
          fail<ValueError>("group_norm: the input {} has {} channels, which num_groups = {} does not divide",
                           str(input.shape()), C, num_groups);
        for (const NamedTensor& t : {NamedTensor{"weight", weight}, NamedTensor{"bias", bias}})
          check_parameter("group_norm", t, {C}, input, "one value per channel");
        const kernels::GroupNormLayout layout{input.size(0), C, spatial_size(input), num_groups};
        // As torch's _verify_batch_size on [N * C / G, G, *spatial].
        if (layout.batch * layout.channels_per_group() * layout.spatial == 1)
          fail<ValueError>(
              "group_norm: expected more than 1 value per channel when training, got input {} with num_groups = {}",
              str(input.shape()), num_groups);
        return normalise_groups("group_norm", "GroupNormBackward", input, layout, per_channel_shape(input), weight,
                                bias, options.eps);
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{input, weight, bias}, {{"num_groups", num_groups}, {"eps", options.eps}}};
      });
}

Tensor layer_norm(const Tensor& input, const std::vector<std::int64_t>& normalized_shape, const Tensor& weight,
                  const Tensor& bias, const LayerNormOptions& options) {
  return detail::trace::traced(
      "layer_norm",
      [&]() -> Tensor {
        detail::check_defined("layer_norm", input);
        detail::check_floating("layer_norm", input);
        if (normalized_shape.empty())
          fail<ValueError>("layer_norm: normalized_shape must have at least one dim, got []");
        const auto k = static_cast<std::int64_t>(normalized_shape.size());
        if (input.dim() < k || !std::equal(normalized_shape.begin(), normalized_shape.end(), input.shape().end() - k))
          fail<ShapeError>("layer_norm: normalized_shape = {} must equal the input's trailing dims, got input {}",
                           str(normalized_shape), str(input.shape()));
        for (const NamedTensor& t : {NamedTensor{"weight", weight}, NamedTensor{"bias", bias}})
          check_parameter("layer_norm", t, normalized_shape, input, "normalized_shape");
        std::int64_t D = 1;
        for (std::int64_t d : normalized_shape) D *= d;
        const std::int64_t rows = D == 0 ? 0 : input.numel() / D;
        return normalise_groups("layer_norm", "LayerNormBackward", input, {rows, D, 1, 1}, normalized_shape, weight,
                                bias, options.eps);
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{input, weight, bias},
                                   {{"normalized_shape", normalized_shape}, {"eps", options.eps}}};
      });
}

Tensor instance_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                     const Tensor& bias, const InstanceNormOptions& options) {
  return detail::trace::traced(
      "instance_norm",
      [&]() -> Tensor {
        check_norm_input("instance_norm", input);
        const std::int64_t C = input.size(1);
        for (const NamedTensor& t : {NamedTensor{"running_mean", running_mean}, NamedTensor{"running_var", running_var},
                                     NamedTensor{"weight", weight}, NamedTensor{"bias", bias}})
          check_parameter("instance_norm", t, {C}, input, "one value per channel");
        for (const NamedTensor& t : {NamedTensor{"running_mean", running_mean}, NamedTensor{"running_var", running_var}})
          if (t.tensor.defined() && t.tensor.requires_grad())
            fail<ValueError>(
                "instance_norm: {} requires grad, but running statistics are buffers updated in place; "
                "pass one that does not (e.g. detach() it)",
                t.name);
        if (running_mean.defined() != running_var.defined())
          fail<ValueError>("instance_norm: running_mean and running_var go together, but only {} was given",
                           running_mean.defined() ? "running_mean" : "running_var");
        if (!options.use_input_stats) {
          if (!running_mean.defined())
            fail<ValueError>(
                "instance_norm: use_input_stats = false normalises with the running statistics, but running_mean "
                "and running_var were not given (input {})",
                str(input.shape()));
          return batch_norm(input, running_mean, running_var, weight, bias, {.training = false, .eps = options.eps});
        }
        const kernels::GroupNormLayout layout{input.size(0), C, spatial_size(input), C};
        if (layout.spatial == 1)  // as torch's _verify_spatial_size
          fail<ValueError>("instance_norm: expected more than 1 spatial element when training, got input {}",
                           str(input.shape()));
        GroupStatistics stats;
        Tensor out = normalise_groups("instance_norm", "InstanceNormBackward", input, layout, per_channel_shape(input),
                                      weight, bias, options.eps, running_mean.defined() ? &stats : nullptr);
        if (running_mean.defined()) {
          // The mean over the batch of each channel's statistics (as torch, which
          // updates one copy of the running statistics per sample and averages them).
          const Shape per_sample{layout.batch, C};
          update_running_stats(running_mean, running_var, stats.mean.reshape(per_sample).mean(0),
                               stats.var.reshape(per_sample).mean(0), layout.spatial, options.momentum);
        }
        return out;
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{input, weight, bias, running_mean, running_var},
                                   {{"use_input_stats", std::int64_t{options.use_input_stats}},
                                    {"momentum", options.momentum},
                                    {"eps", options.eps}}};
      });
}

// ---- dropout ----------------------------------------------------------------------

namespace {

// 0 with probability p, else 1 / (1 - p), drawn in row-major order under the
// generator's lock (so a seed fixes the mask).
Tensor dropout_mask(const Shape& shape, DType dtype, double p, Generator& generator) {
  Tensor mask = detail::make_tensor(shape, dtype);
  detail::visit_floating(dtype, "dropout", [&]<class T>() {
    const T scale = p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
    T* m = detail::element_ptr<T>(mask);
    const std::int64_t n = mask.numel();
    std::lock_guard lock(generator.mutex());
    for (std::int64_t i = 0; i < n; ++i) m[i] = generator.uniform() < p ? T(0) : scale;
  });
  return mask;
}

}  // namespace

Tensor dropout(const Tensor& input, const DropoutOptions& options, Generator* generator) {
  return detail::trace::traced(
      "dropout",
      [&]() -> Tensor {
        detail::check_defined("dropout", input);
        detail::check_floating("dropout", input);
        if (!(options.p >= 0.0 && options.p <= 1.0))
          fail<ValueError>("dropout: p must be in [0, 1], got {}", options.p);
        if (!options.training || options.p == 0.0) return input;
        const Tensor mask =
            dropout_mask(input.shape(), input.dtype(), options.p, generator ? *generator : default_generator());
        auto times = [](auto a, auto b) { return a * b; };
        Tensor out = detail::binary_map("dropout", input, mask, times);
        if (!detail::any_requires_grad({input})) return out;
        // The mask is a private tensor (not the output), so it is kept as it is.
        return detail::record("DropoutBackward", {input}, out, [mask, times](const BackwardArgs& args) {
          if (detail::creating_graph()) return std::vector<Tensor>{mul(args.grad(), mask)};
          return std::vector<Tensor>{detail::binary_map("DropoutBackward", args.grad(), mask, times)};
        });
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{input}, {{"p", options.p}, {"training", std::int64_t{options.training}}}};
      });
}

// ---- local response norm ------------------------------------------------------------

namespace {

// x * (k + alpha / size * sum of x^2 over the channel window)^-beta composed of
// differentiable ops, for backwards under create_graph; the window of channel c
// is [c - size / 2, c + (size - 1) / 2], clipped to the channels.
Tensor lrn_composite(const Tensor& x, const kernels::LrnWindow& window) {
  const std::int64_t C = x.size(1);
  Shape before = x.shape(), after = x.shape();
  before[1] = window.before();
  after[1] = window.after();
  const Tensor padded =
      cat({zeros(before, {.dtype = x.dtype()}), x * x, zeros(after, {.dtype = x.dtype()})}, 1);
  Tensor sum = narrow(padded, 1, 0, C);
  for (std::int64_t j = 1; j < window.size; ++j) sum = sum + narrow(padded, 1, j, C);
  return x * pow(sum * (window.alpha / static_cast<double>(window.size)) + window.k, -window.beta);
}

}  // namespace

Tensor local_response_norm(const Tensor& input, const LocalResponseNormOptions& options) {
  return detail::trace::traced(
      "local_response_norm",
      [&]() -> Tensor {
        check_norm_input("local_response_norm", input);
        if (options.size < 1) fail<ValueError>("local_response_norm: size must be at least 1, got {}", options.size);
        const kernels::NormLayout layout = norm_layout(input);
        const kernels::LrnWindow window{options.size, options.alpha, options.beta, options.k};
        const DType dtype = input.dtype();
        const Tensor x = contiguous_values(input);
        Tensor out = detail::make_tensor(input.shape(), dtype);
        // denom^-beta and denom^(-beta - 1), for backward.
        const Tensor inv = detail::make_tensor(input.shape(), dtype);
        const Tensor inv_over_denom = detail::make_tensor(input.shape(), dtype);
        detail::visit_floating(dtype, "local_response_norm", [&]<class T>() {
          kernels::local_response_norm_forward<T>(layout, window, detail::element_ptr<T>(x),
                                                  detail::element_ptr<T>(out), detail::element_ptr<T>(inv),
                                                  detail::element_ptr<T>(inv_over_denom));
        });
        if (!detail::any_requires_grad({input})) return out;
        return detail::record(
            "LocalResponseNormBackward", {input}, out,
            [sx = SavedTensor(input), inv, inv_over_denom, layout, window](const BackwardArgs& args) {
              // grad [N, C, *] -> input [N, C, *]
              if (detail::creating_graph())
                return detail::gradients_by_recomputation(
                    [&](const std::vector<Tensor>& in) { return lrn_composite(in[0], window); },
                    {sx.unpack("LocalResponseNormBackward")}, args.grad(), args.needs);
              const Tensor saved_input = contiguous_values(sx.unpack("LocalResponseNormBackward"));
              const Tensor dy = contiguous_values(args.grad());
              Tensor dx = detail::make_tensor(saved_input.shape(), saved_input.dtype());
              detail::visit_floating(saved_input.dtype(), "LocalResponseNormBackward", [&]<class T>() {
                kernels::local_response_norm_backward<T>(
                    layout, window, detail::element_ptr<T>(dy), detail::element_ptr<T>(saved_input),
                    detail::element_ptr<T>(inv), detail::element_ptr<T>(inv_over_denom), detail::element_ptr<T>(dx));
              });
              return std::vector<Tensor>{dx};
            });
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{
            {input}, {{"size", options.size}, {"alpha", options.alpha}, {"beta", options.beta}, {"k", options.k}}};
      });
}

}  // namespace xgrad
