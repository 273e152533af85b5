// nll_loss, cross_entropy (log_softmax + a fused class-index loss), mse_loss.
//
// Class-index losses see the input as [N, C, K] (K = d1 * d2 * ..., 1 for a
// plain [N, C] input) and the target as [N, K]. Per target the loss is
//   -(1 - eps) * logp[label] - eps / C * sum_c logp[c]
// (eps = label smoothing, 0 for nll_loss; PyTorch's formula), and 0 where the
// target is ignore_index. mean divides the sum by the number of targets that are
// not ignored, so it is NaN when all are (as PyTorch).

#include <cmath>
#include <limits>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "xgrad/ops/loss.hpp"
#include "xgrad/ops/reduction.hpp"
#include "xgrad/ops/shape.hpp"
#include "xgrad/ops/softmax.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::SavedTensor;
using detail::str;

namespace {

// input [N, C, K] and target [N, K], as described at the top of the file.
struct ClassLayout {
  std::int64_t n = 1, classes = 1, k = 1;
  std::int64_t counted = 0;  // targets that are not ignore_index
};

struct ClassLossSpec {
  Reduction reduction = Reduction::mean;
  std::int64_t ignore_index = -100;
  double smoothing = 0.0;
};

// x itself when contiguous, else a contiguous copy (not recorded).
Tensor contiguous_values(const Tensor& x) { return x.is_contiguous() ? x : detail::copy_as(x, x.dtype()); }

// Checks dtypes, shapes and labels of a class-index loss; names `op` in errors.
ClassLayout check_class_target(const char* op, const Tensor& input, const Tensor& target, std::int64_t ignore_index) {
  detail::check_defined(op, input, "input");
  detail::check_defined(op, target, "target");
  detail::check_floating(op, input);
  if (target.dtype() != i64)
    fail<DTypeError>("{}: target must be an i64 tensor of class indices, got {} (target shape {})", op,
                     dtype_name(target.dtype()), str(target.shape()));
  if (input.dim() < 2)
    fail<ShapeError>("{}: input must have shape [N, C] or [N, C, d1, ...], got {}", op, str(input.shape()));
  Shape expected = input.shape();
  expected.erase(expected.begin() + 1);
  if (target.shape() != expected)
    fail<ShapeError>("{}: target shape {} does not match input shape {} (expected target shape {})", op,
                     str(target.shape()), str(input.shape()), str(expected));

  ClassLayout layout{.n = input.shape()[0], .classes = input.shape()[1]};
  for (std::size_t d = 2; d < input.shape().size(); ++d) layout.k *= input.shape()[d];
  const Tensor labels = contiguous_values(target);
  const auto* t = detail::element_ptr<std::int64_t>(labels);
  for (std::int64_t i = 0; i < target.numel(); ++i) {
    if (t[i] == ignore_index) continue;
    if (t[i] < 0 || t[i] >= layout.classes)
      fail<ValueError>("{}: target {} at position {} is out of range for {} classes (labels must be in [0, {}) "
                       "or equal ignore_index {})",
                       op, t[i], str(detail::unravel_index(i, target.shape())), layout.classes, layout.classes, ignore_index);
    ++layout.counted;
  }
  return layout;
}

// The loss of every target, shape [N, K]; 0 where ignored.
template <class T>
void per_target_losses(const T* logp, const std::int64_t* labels, T* loss, const ClassLayout& layout,
                       const ClassLossSpec& spec) {
  const std::int64_t classes = layout.classes, k = layout.k;
  for (std::int64_t n = 0; n < layout.n; ++n)
    for (std::int64_t j = 0; j < k; ++j) {
      const std::int64_t i = n * k + j;
      if (labels[i] == spec.ignore_index) {
        loss[i] = 0;
        continue;
      }
      const T* column = logp + n * classes * k + j;  // logp[n, c, j] = column[c * k]
      double value = (1 - spec.smoothing) * column[labels[i] * k];
      if (spec.smoothing > 0) {  // skipped at 0 so that a -inf elsewhere cannot give 0 * -inf
        double all = 0;
        for (std::int64_t c = 0; c < classes; ++c) all += column[c * k];
        value += spec.smoothing / static_cast<double>(classes) * all;
      }
      loss[i] = static_cast<T>(-value);
    }
}

// d loss / d logp for a unit output gradient, shape [N, C, K]: per counted
// target, -scale * ((1 - eps) [c == label] + eps / C); 0 for ignored targets.
template <class T>
void fill_weights(T* weights, const std::int64_t* labels, const ClassLayout& layout, const ClassLossSpec& spec,
                  double scale) {
  const std::int64_t classes = layout.classes, k = layout.k;
  const double spread = spec.smoothing / static_cast<double>(classes);
  const auto off = static_cast<T>(-scale * spread);
  const auto on = static_cast<T>(-scale * (1 - spec.smoothing + spread));
  for (std::int64_t n = 0; n < layout.n; ++n)
    for (std::int64_t j = 0; j < k; ++j) {
      const std::int64_t label = labels[n * k + j];
      if (label == spec.ignore_index) continue;
      T* column = weights + n * classes * k + j;
      for (std::int64_t c = 0; c < classes; ++c) column[c * k] = c == label ? on : off;
    }
}

// Reduces per-target losses (not recorded).
Tensor reduce_losses(const Tensor& losses, Reduction reduction, std::int64_t counted) {
  switch (reduction) {
    case Reduction::none: return losses;
    case Reduction::sum: return sum(losses);
    case Reduction::mean:
      return counted == 0 ? full({}, std::numeric_limits<double>::quiet_NaN(), {.dtype = losses.dtype()})
                          : div(sum(losses), static_cast<double>(counted));
  }
  fail<ValueError>("loss: unknown reduction {}", static_cast<int>(reduction));
}

// The recorded op behind nll_loss and cross_entropy, on checked inputs.
Tensor class_loss(const char* op, const char* node, const Tensor& log_probs, const Tensor& target,
                  const ClassLayout& layout, const ClassLossSpec& spec) {
  const Tensor labels = contiguous_values(target);
  const Tensor losses = detail::visit_floating(log_probs.dtype(), op, [&]<class T>() {
    const Tensor in = contiguous_values(log_probs);
    Tensor out = detail::make_tensor(target.shape(), log_probs.dtype());
    per_target_losses(detail::element_ptr<T>(in), detail::element_ptr<std::int64_t>(labels),
                      detail::element_ptr<T>(out), layout, spec);
    return out;
  });
  Tensor out = reduce_losses(losses, spec.reduction, layout.counted);
  if (!detail::any_requires_grad({log_probs})) return out;
  return detail::record(
      node, {log_probs}, out,
      [node, sl = SavedTensor(labels), in = log_probs.shape(), dtype = log_probs.dtype(), layout,
       spec](const BackwardArgs& args) {
        const double scale =
            spec.reduction == Reduction::mean && layout.counted > 0 ? 1.0 / static_cast<double>(layout.counted) : 1.0;
        Tensor weights = zeros(in, {.dtype = dtype});
        detail::visit_floating(dtype, node, [&]<class T>() {
          fill_weights(detail::element_ptr<T>(weights), detail::element_ptr<std::int64_t>(sl.unpack(node)), layout,
                       spec, scale);
        });
        // grad [] (sum, mean) or [N, d1, ...] (none) -> weights * grad, shape [N, C, d1, ...]
        const Tensor& g = args.grad();
        return std::vector<Tensor>{mul(weights, spec.reduction == Reduction::none ? unsqueeze(g, 1) : g)};
      });
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, NllLossOptions options) {
  const ClassLayout layout = check_class_target("nll_loss", log_probs, target, options.ignore_index);
  return class_loss("nll_loss", "NllLossBackward", log_probs, target, layout,
                    {.reduction = options.reduction, .ignore_index = options.ignore_index});
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options) {
  if (!(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0))
    fail<ValueError>("cross_entropy: label_smoothing must be in [0, 1], got {}", options.label_smoothing);
  const ClassLayout layout = check_class_target("cross_entropy", logits, target, options.ignore_index);
  return class_loss("cross_entropy", "CrossEntropyBackward", log_softmax(logits, 1), target, layout,
                    {.reduction = options.reduction,
                     .ignore_index = options.ignore_index,
                     .smoothing = options.label_smoothing});
}

Tensor mse_loss(const Tensor& input, const Tensor& target, MseLossOptions options) {
  detail::check_defined("mse_loss", input, "input");
  detail::check_defined("mse_loss", target, "target");
  if (input.shape() != target.shape())
    fail<ShapeError>("mse_loss: input shape {} and target shape {} must match exactly (no broadcasting)",
                     str(input.shape()), str(target.shape()));
  detail::check_same_dtype("mse_loss", input, target);
  detail::check_floating("mse_loss", input);
  const Tensor diff = sub(input, target);
  const Tensor squared = mul(diff, diff);
  switch (options.reduction) {
    case Reduction::none: return squared;
    case Reduction::sum: return sum(squared);
    case Reduction::mean:  // an empty input has no mean: NaN, as PyTorch
      return input.numel() == 0 ? mul(sum(squared), std::numeric_limits<double>::quiet_NaN()) : mean(squared);
  }
  fail<ValueError>("mse_loss: unknown reduction {}", static_cast<int>(options.reduction));
}

}  // namespace xgrad
