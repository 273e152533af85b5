// nll_loss and cross_entropy (log_softmax + a fused class-index loss, or soft
// targets composed of differentiable ops), and what every loss shares
// (ops/loss.hpp: reductions, weight checks).
//
// Class-index losses see the input as [N, C, K] (K = d1 * d2 * ..., 1 for a
// plain [N, C] input) and the target as [N, K]. Per target t the loss is
//   -(1 - eps) * w[t] * logp[t] - eps / C * sum_c w[c] * logp[c]
// (eps = label smoothing, 0 for nll_loss; w = the class weights, all 1 without;
// PyTorch's formula), and 0 where the target is ignore_index. mean divides the
// sum by the sum of w[t] over the targets that are not ignored, so it is NaN when
// all are (0 / 0, as PyTorch). An unbatched input [C] with a 0-d target is a batch
// of one.

#include "ops/loss.hpp"

#include <cmath>
#include <limits>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "ops/trace.hpp"
#include "xgrad/ops/loss.hpp"
#include "xgrad/ops/reduction.hpp"
#include "xgrad/ops/shape.hpp"
#include "xgrad/ops/softmax.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::SavedTensor;
using detail::str;

const char* reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return "none";
    case Reduction::mean: return "mean";
    case Reduction::sum: return "sum";
    case Reduction::batchmean: return "batchmean";
  }
  return "unknown";
}

namespace detail {

void check_reduction(const char* op, Reduction reduction, bool batchmean_allowed) {
  const auto value = static_cast<int>(reduction);
  if (value < 0 || value > static_cast<int>(Reduction::batchmean))
    fail<ValueError>("{}: unknown reduction {}", op, value);
  if (reduction == Reduction::batchmean && !batchmean_allowed)
    fail<ValueError>("{}: reduction batchmean is not valid here (only kl_div takes it); use none, mean or sum", op);
}

void check_constant_weight(const char* op, const Tensor& weight, const char* what) {
  if (weight.defined() && weight.requires_grad() && is_grad_enabled())
    fail<AutogradError>(
        "{}: {} (shape {}) requires grad, but {} is not differentiable with respect to {} (as PyTorch); pass "
        "{}.detach(), or call it under NoGradGuard",
        op, what, str(weight.shape()), op, what, what);
}

Tensor reduce_loss(const char* op, const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return losses;
    case Reduction::sum: return sum(losses);
    case Reduction::mean:  // an empty input has no mean: NaN, as PyTorch
      return losses.numel() == 0 ? mul(sum(losses), std::numeric_limits<double>::quiet_NaN()) : mean(losses);
    case Reduction::batchmean: break;
  }
  fail<ValueError>("{}: reduction {} is not valid here", op, reduction_name(reduction));
}

}  // namespace detail

namespace {

// input [N, C, K] and target [N, K], as described at the top of the file.
struct ClassLayout {
  std::int64_t n = 1, classes = 1, k = 1;
  std::int64_t counted = 0;  // targets that are not ignore_index
  double total_weight = 0;   // sum of their class weights (counted without weights)
};

struct ClassLossSpec {
  Reduction reduction = Reduction::mean;
  std::int64_t ignore_index = -100;
  double smoothing = 0.0;
};

// x itself when contiguous, else a contiguous copy (not recorded).
Tensor contiguous_values(const Tensor& x) { return x.is_contiguous() ? x : detail::copy_as(x, x.dtype()); }

// A class weight must be [C] of the input's dtype.
void check_class_weight(const char* op, const Tensor& weight, const Tensor& input) {
  if (!weight.defined()) return;
  const std::int64_t classes = input.dim() == 1 ? input.shape()[0] : input.shape()[1];
  if (weight.dim() != 1 || weight.shape()[0] != classes)
    fail<ShapeError>("{}: weight should be defined for all {} classes (shape [{}]) or none, got weight of shape {} "
                     "(input shape {})",
                     op, classes, classes, str(weight.shape()), str(input.shape()));
  if (weight.dtype() != input.dtype())
    fail<DTypeError>("{}: weight has dtype {} but input has {} (weight shape {}); convert one with .to()", op,
                     dtype_name(weight.dtype()), dtype_name(input.dtype()), str(weight.shape()));
}

// Checks dtypes, shapes and labels of a class-index loss; names `op` in errors.
ClassLayout check_class_target(const char* op, const Tensor& input, const Tensor& target, const Tensor& weight,
                               std::int64_t ignore_index) {
  if (target.dtype() != i64)
    fail<DTypeError>("{}: target must be an i64 tensor of class indices, got {} (target shape {})", op,
                     dtype_name(target.dtype()), str(target.shape()));
  if (input.dim() < 2)
    fail<ShapeError>("{}: input must have shape [C], [N, C] or [N, C, d1, ...], got {}", op, str(input.shape()));
  Shape expected = input.shape();
  expected.erase(expected.begin() + 1);
  if (target.shape() != expected)
    fail<ShapeError>("{}: target shape {} does not match input shape {} (expected target shape {})", op,
                     str(target.shape()), str(input.shape()), str(expected));
  check_class_weight(op, weight, input);
  detail::check_constant_weight(op, weight, "weight");

  ClassLayout layout{.n = input.shape()[0], .classes = input.shape()[1]};
  for (std::size_t d = 2; d < input.shape().size(); ++d) layout.k *= input.shape()[d];
  const Tensor labels = contiguous_values(target);
  const auto* t = detail::element_ptr<std::int64_t>(labels);
  const std::vector<double> w = weight.defined() ? weight.to_vector<double>() : std::vector<double>{};
  for (std::int64_t i = 0; i < target.numel(); ++i) {
    if (t[i] == ignore_index) continue;
    if (t[i] < 0 || t[i] >= layout.classes)
      fail<ValueError>(
          "{}: target {} at position {} is out of range for {} classes (labels must be in [0, {}) "
          "or equal ignore_index {})",
          op, t[i], str(detail::unravel_index(i, target.shape())), layout.classes, layout.classes, ignore_index);
    ++layout.counted;
    layout.total_weight += w.empty() ? 1.0 : w[static_cast<std::size_t>(t[i])];
  }
  return layout;
}

// The loss of every target, shape [N, K]; 0 where ignored. `weight` is null or [C].
template <class T>
void per_target_losses(const T* logp, const std::int64_t* labels, const T* weight, T* loss, const ClassLayout& layout,
                       const ClassLossSpec& spec) {
  const std::int64_t classes = layout.classes, k = layout.k;
  const auto w = [weight](std::int64_t c) { return weight ? static_cast<double>(weight[c]) : 1.0; };
  for (std::int64_t n = 0; n < layout.n; ++n)
    for (std::int64_t j = 0; j < k; ++j) {
      const std::int64_t i = n * k + j;
      if (labels[i] == spec.ignore_index) {
        loss[i] = 0;
        continue;
      }
      const T* column = logp + n * classes * k + j;  // logp[n, c, j] = column[c * k]
      double value = (1 - spec.smoothing) * w(labels[i]) * column[labels[i] * k];
      if (spec.smoothing > 0) {  // skipped at 0 so that a -inf elsewhere cannot give 0 * -inf
        double all = 0;
        for (std::int64_t c = 0; c < classes; ++c) all += w(c) * column[c * k];
        value += spec.smoothing / static_cast<double>(classes) * all;
      }
      loss[i] = static_cast<T>(-value);
    }
}

// d loss / d logp for a unit output gradient, shape [N, C, K]: per counted
// target, -scale * ((1 - eps) w[label] [c == label] + eps / C w[c]); 0 for ignored targets.
template <class T>
void fill_weights(T* weights, const std::int64_t* labels, const T* weight, const ClassLayout& layout,
                  const ClassLossSpec& spec, double scale) {
  const std::int64_t classes = layout.classes, k = layout.k;
  const auto w = [weight](std::int64_t c) { return weight ? static_cast<double>(weight[c]) : 1.0; };
  const double spread = spec.smoothing / static_cast<double>(classes);
  for (std::int64_t n = 0; n < layout.n; ++n)
    for (std::int64_t j = 0; j < k; ++j) {
      const std::int64_t label = labels[n * k + j];
      if (label == spec.ignore_index) continue;
      T* column = weights + n * classes * k + j;
      if (spec.smoothing > 0)
        for (std::int64_t c = 0; c < classes; ++c) column[c * k] = static_cast<T>(-scale * spread * w(c));
      column[label * k] += static_cast<T>(-scale * (1 - spec.smoothing) * w(label));
    }
}

// Reduces per-target losses (not recorded): mean divides by the total weight.
Tensor reduce_losses(const Tensor& losses, Reduction reduction, const ClassLayout& layout) {
  switch (reduction) {
    case Reduction::none: return losses;
    case Reduction::sum: return sum(losses);
    case Reduction::mean:
      return layout.counted == 0 ? full({}, std::numeric_limits<double>::quiet_NaN(), {.dtype = losses.dtype()})
                                 : div(sum(losses), layout.total_weight);
    case Reduction::batchmean: break;
  }
  fail<ValueError>("loss: reduction {} is not valid here", reduction_name(reduction));
}

// The recorded op behind nll_loss and cross_entropy, on checked inputs.
Tensor class_loss(const char* op, const char* node, const Tensor& log_probs, const Tensor& target,
                  const Tensor& weight, const ClassLayout& layout, const ClassLossSpec& spec) {
  const Tensor labels = contiguous_values(target);
  const Tensor w = weight.defined() ? contiguous_values(weight.detach()) : Tensor();
  const Tensor losses = detail::visit_floating(log_probs.dtype(), op, [&]<class T>() {
    const Tensor in = contiguous_values(log_probs);
    Tensor out = detail::make_tensor(target.shape(), log_probs.dtype());
    per_target_losses(detail::element_ptr<T>(in), detail::element_ptr<std::int64_t>(labels),
                      w.defined() ? detail::element_ptr<T>(w) : nullptr, detail::element_ptr<T>(out), layout, spec);
    return out;
  });
  Tensor out = reduce_losses(losses, spec.reduction, layout);
  if (!detail::any_requires_grad({log_probs})) return out;
  return detail::record(
      node, {log_probs}, out,
      [node, sl = SavedTensor(labels), w, in = log_probs.shape(), dtype = log_probs.dtype(), layout,
       spec](const BackwardArgs& args) {
        // mean: 1 / total weight (inf or NaN for a total of 0, as PyTorch), unless nothing counted
        const double scale =
            spec.reduction == Reduction::mean && layout.counted > 0 ? 1.0 / layout.total_weight : 1.0;
        Tensor weights = zeros(in, {.dtype = dtype});
        detail::visit_floating(dtype, node, [&]<class T>() {
          fill_weights(detail::element_ptr<T>(weights), detail::element_ptr<std::int64_t>(sl.unpack(node)),
                       w.defined() ? detail::element_ptr<T>(w) : nullptr, layout, spec, scale);
        });
        // grad [] (sum, mean) or [N, d1, ...] (none) -> weights * grad, shape [N, C, d1, ...]
        const Tensor& g = args.grad();
        return std::vector<Tensor>{mul(weights, spec.reduction == Reduction::none ? unsqueeze(g, 1) : g)};
      });
}

// cross_entropy of class probabilities `target` (the input's shape), composed of
// differentiable ops as PyTorch does, so that target and weight get gradients too.
Tensor soft_cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
  const char* op = "cross_entropy";
  if (!is_floating(target.dtype()))
    fail<DTypeError>("{}: a target of the input's shape {} holds class probabilities and must be floating, got {}",
                     op, str(target.shape()), dtype_name(target.dtype()));
  detail::check_same_dtype(op, logits, target);
  if (options.ignore_index >= 0)
    fail<ValueError>("{}: ignore_index {} is not supported with class-probability targets (it must be negative, "
                     "as the default -100)",
                     op, options.ignore_index);
  if (logits.dim() < 2)
    fail<ShapeError>("{}: input must have shape [C], [N, C] or [N, C, d1, ...], got {}", op, str(logits.shape()));
  check_class_weight(op, options.weight, logits);
  const std::int64_t classes = logits.shape()[1];
  const double eps = options.label_smoothing;
  const Tensor q = eps > 0 ? add(mul(target, 1 - eps), eps / static_cast<double>(classes)) : target;
  Tensor terms = mul(log_softmax(logits, 1), q);
  if (options.weight.defined()) {
    Shape along_classes(logits.shape().size(), 1);
    along_classes[1] = classes;
    terms = mul(terms, reshape(options.weight, along_classes));
  }
  switch (options.reduction) {
    case Reduction::none: return neg(sum(terms, {1}));
    case Reduction::sum: return neg(sum(terms));
    case Reduction::mean:  // by the number of samples, N * d1 * ...; NaN when there are none
      return logits.numel() == 0 ? mul(sum(terms), std::numeric_limits<double>::quiet_NaN())
                                 : div(neg(sum(terms)), static_cast<double>(logits.numel() / classes));
    case Reduction::batchmean: break;
  }
  fail<ValueError>("{}: reduction {} is not valid here", op, reduction_name(options.reduction));
}

// An unbatched input [C] (with a 0-d class target, or a [C] probability target)
// as a batch of one; none's result [1] becomes [].
template <class Loss>
Tensor batch_of_one(const char* op, const Tensor& input, const Tensor& target, bool soft, Reduction reduction,
                    Loss loss) {
  if (!soft && target.dim() != 0)
    fail<ShapeError>("{}: an unbatched input {} takes a 0-d target, got target shape {}", op, str(input.shape()),
                     str(target.shape()));
  const Tensor out = loss(unsqueeze(input, 0), soft ? unsqueeze(target, 0) : reshape(target, {1}));
  return reduction == Reduction::none ? reshape(out, {}) : out;
}

void check_defined_pair(const char* op, const Tensor& input, const Tensor& target) {
  detail::check_defined(op, input, "input");
  detail::check_defined(op, target, "target");
  detail::check_floating(op, input);
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, NllLossOptions options) {
  const char* op = "nll_loss";
  return detail::trace::traced(
      op,
      [&]() -> Tensor {
        check_defined_pair(op, log_probs, target);
        detail::check_reduction(op, options.reduction, false);
        if (log_probs.dim() == 1)
          return batch_of_one(op, log_probs, target, false, options.reduction,
                              [&](const Tensor& x, const Tensor& t) { return nll_loss(x, t, options); });
        const ClassLayout layout = check_class_target(op, log_probs, target, options.weight, options.ignore_index);
        return class_loss(op, "NllLossBackward", log_probs, target, options.weight, layout,
                          {.reduction = options.reduction, .ignore_index = options.ignore_index});
      },
      detail::trace::inputs(log_probs, target, options.weight));
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options) {
  const char* op = "cross_entropy";
  return detail::trace::traced(
      op,
      [&]() -> Tensor {
        check_defined_pair(op, logits, target);
        detail::check_reduction(op, options.reduction, false);
        if (!(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0))
          fail<ValueError>("{}: label_smoothing must be in [0, 1], got {}", op, options.label_smoothing);
        const bool soft = logits.dim() > 0 && target.shape() == logits.shape();
        if (!soft && target.dtype() != i64)
          fail<DTypeError>("{}: target must be an i64 tensor of class indices, or a floating one of class "
                           "probabilities with the input's shape {}; got {} of shape {}",
                           op, str(logits.shape()), dtype_name(target.dtype()), str(target.shape()));
        if (logits.dim() == 1)
          return batch_of_one(op, logits, target, soft, options.reduction,
                              [&](const Tensor& x, const Tensor& t) { return cross_entropy(x, t, options); });
        if (soft) return soft_cross_entropy(logits, target, options);
        const ClassLayout layout = check_class_target(op, logits, target, options.weight, options.ignore_index);
        return class_loss(op, "CrossEntropyBackward", log_softmax(logits, 1), target, options.weight, layout,
                          {.reduction = options.reduction,
                           .ignore_index = options.ignore_index,
                           .smoothing = options.label_smoothing});
      },
      detail::trace::inputs(logits, target, options.weight));
}

}  // namespace xgrad
