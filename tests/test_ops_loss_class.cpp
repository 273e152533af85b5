// nll_loss and cross_entropy with class weights, label smoothing with weights,
// unbatched inputs and class-probability ("soft") targets. Expected values are
// PyTorch 1.13's (torch.nn.functional, float64), printed by /usr/bin/python3.

#include <cmath>
#include <limits>

#include "loss_support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

Tensor example_logits(bool requires_grad = false) { return f64_tensor({1, 2, 3, 1, 0, -1}, {2, 3}, requires_grad); }
Tensor example_weight() { return f64_tensor({0.2, 0.3, 0.5}); }
// Class probabilities for the example logits (row 1 has a zero).
Tensor example_probs(bool requires_grad = false) {
  return f64_tensor({0.1, 0.2, 0.7, 0.5, 0.5, 0}, {2, 3}, requires_grad);
}
// A [2, 3, 2] input with class probabilities over dim 1 and class labels.
Tensor spatial_logits() {
  return f64_tensor({0.3, -1.2, 0.5, 2.0, -0.7, 0.1, 1.1, 0.4, -0.3, -0.9, 0.8, 0.2}, {2, 3, 2});
}
Tensor spatial_probs() { return f64_tensor({0.2, 0.5, 0.3, 0.5, 0.5, 0.0, 1.0, 0.1, 0.0, 0.6, 0.0, 0.3}, {2, 3, 2}); }

// Positive class weights for a gradcheck.
Tensor random_weight(std::int64_t classes) { return rand({classes}, {.dtype = f64}) + 0.5; }

void require_nan(const Tensor& t) {
  for (double v : values(t)) CHECK(std::isnan(v));
}

}  // namespace

// ---- class weights ----------------------------------------------------------------

TEST_CASE("nll_loss with class weights: mean divides by the weights of the counted targets", "[loss][nll][weight]") {
  Tensor logp = f64_tensor({-1, -2, -3, -0.5, -1.5, -2.5, -4, -5, -6}, {3, 3}, true);
  const Tensor t = labels({0, -100, 1});
  const NllLossOptions none{.weight = example_weight(), .reduction = Reduction::none};
  require_values(nll_loss(logp, t, none), {0.2, 0.0, 1.5});
  CHECK(nll_loss(logp, t, {.weight = example_weight(), .reduction = Reduction::sum}).item() == Approx(1.7));
  const Tensor loss = nll_loss(logp, t, {.weight = example_weight()});  // 1.7 / (0.2 + 0.3)
  CHECK(loss.item() == Approx(3.4).epsilon(1e-14));
  loss.backward();
  require_values(logp.grad(), {-0.4, 0, 0, 0, 0, 0, 0, -0.6, 0}, 1e-14);
  // Weights of 1 are no weights.
  CHECK(nll_loss(logp, t, {.weight = ones({3}, {.dtype = f64})}).item() == nll_loss(logp, t).item());
}

TEST_CASE("cross_entropy with weights and label smoothing follows PyTorch's formula", "[loss][cross_entropy][weight]") {
  const Tensor t = labels({2, 1});
  const auto options = [](Reduction r) {
    return CrossEntropyOptions{.weight = example_weight(), .reduction = r, .label_smoothing = 0.1};
  };
  require_values(cross_entropy(example_logits(), t, options(Reduction::none)),
                 {0.22034288281478387, 0.4369738092147954}, 1e-14);
  CHECK(cross_entropy(example_logits(), t, options(Reduction::sum)).item() ==
        Approx(0.6573166920295793).epsilon(1e-14));
  CHECK(cross_entropy(example_logits(), t, options(Reduction::mean)).item() ==
        Approx(0.821645865036974).epsilon(1e-14));
  CHECK(cross_entropy(example_logits(), t, {.weight = example_weight()}).item() ==
        Approx(0.7826059644443804).epsilon(1e-14));
  Tensor logits = example_logits(true);
  cross_entropy(logits, t, options(Reduction::mean)).backward();
  require_values(logits.grad(),
                 {0.046060137957104855, 0.13535678459560693, -0.18141692255271183, 0.24390386239795325,
                  -0.2572071213917225, 0.013303258993769248},
                 1e-14);

  // An ignored target: the mean divides by the weight of the other one alone.
  Tensor again = example_logits(true);
  const Tensor ignored = labels({2, -100});
  const Tensor loss = cross_entropy(again, ignored, options(Reduction::mean));
  CHECK(loss.item() == Approx(0.44068576562956774).epsilon(1e-14));
  loss.backward();
  require_values(again.grad(), {0.07369622073136775, 0.21657085535297105, -0.29026707608433894, 0, 0, 0}, 1e-14);

  // Full smoothing: only the weighted class-average term is left.
  const CrossEntropyOptions full{.weight = example_weight(), .reduction = Reduction::none, .label_smoothing = 1.0};
  require_values(cross_entropy(example_logits(), t, full), {0.3692019881481268, 0.5692019881481267}, 1e-14);
  CHECK(cross_entropy(example_logits(), t, {.weight = example_weight(), .label_smoothing = 1.0}).item() ==
        Approx(1.1730049703703171).epsilon(1e-14));
}

TEST_CASE("weighted K-dim cross_entropy with smoothing and an ignored target", "[loss][cross_entropy][weight]") {
  const Tensor t = labels({0, 2, 2, -100}, {2, 2});
  const auto options = [](Reduction r) {
    return CrossEntropyOptions{.weight = example_weight(), .reduction = r, .label_smoothing = 0.3};
  };
  const Tensor none = cross_entropy(spatial_logits(), t, options(Reduction::none));
  CHECK(none.shape() == Shape{2, 2});
  require_values(none, {0.2723313666043972, 0.9024040720299953, 0.47107570150458566, 0}, 1e-14);
  CHECK(cross_entropy(spatial_logits(), t, options(Reduction::sum)).item() ==
        Approx(1.6458111401389783).epsilon(1e-14));
  CHECK(cross_entropy(spatial_logits(), t, options(Reduction::mean)).item() ==
        Approx(1.3715092834491487).epsilon(1e-14));
}

TEST_CASE("a mean over no weight is NaN, as in PyTorch", "[loss][weight]") {
  // All targets ignored, with and without smoothing; the gradient is 0.
  Tensor logits = example_logits(true);
  const Tensor all_ignored = labels({-100, -100});
  const Tensor loss = cross_entropy(logits, all_ignored, {.weight = example_weight()});
  require_nan(loss);
  loss.backward();
  require_values(logits.grad(), {0, 0, 0, 0, 0, 0});
  require_nan(cross_entropy(example_logits(), all_ignored, {.weight = example_weight(), .label_smoothing = 0.2}));
  {
    // Its tangent, derived from that zero gradient, is 0 (PyTorch's forward mode gives NaN).
    namespace fwd = autograd::forward_ad;
    const fwd::DualLevel level;
    const Tensor dual = fwd::make_dual(example_logits(), ones({2, 3}, {.dtype = f64}));
    const fwd::UnpackedDual out = fwd::unpack_dual(cross_entropy(dual, all_ignored, {.label_smoothing = 0.2}));
    require_nan(out.primal);
    CHECK(out.tangent.item() == 0);
  }
  CHECK(nll_loss(example_logits(), all_ignored, {.weight = example_weight(), .reduction = Reduction::sum}).item() ==
        0);
  // Counted targets whose classes weigh 0: 0 / 0 in the value and the gradient.
  Tensor zero = example_logits(true);
  const Tensor w = f64_tensor({1, 0, 0});
  const Tensor zero_loss = cross_entropy(zero, labels({2, 1}), {.weight = w});
  require_nan(zero_loss);
  zero_loss.backward();
  const std::vector<double> g = values(zero.grad());
  CHECK(std::isnan(g[2]));  // PyTorch: NaN at the targets' classes (its other entries are NaN too)
  CHECK(std::isnan(g[4]));
  // An empty batch.
  require_nan(nll_loss(zeros({0, 3}, {.dtype = f64}), labels({}, {0}), {.weight = example_weight()}));
}

TEST_CASE("class-weighted losses pass gradcheck", "[loss][weight][gradcheck]") {
  manual_seed(41);
  for (const Shape& shape : class_shapes)
    for (Reduction reduction : all_reductions)
      for (double smoothing : {0.0, 0.3})
        for (std::int64_t ignore : ignore_cases(target_shape(shape))) {
          INFO("shape " << shape_to_string(shape) << ", reduction " << reduction_name(reduction) << ", smoothing "
                        << smoothing << ", ignore " << ignore);
          const Tensor t = gradcheck_labels(shape, ignore);
          const Tensor w = random_weight(shape[1]);
          const CrossEntropyOptions options{
              .weight = w, .reduction = reduction, .ignore_index = ignore, .label_smoothing = smoothing};
          require_gradchecks([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t, options); },
                             {leaf(shape)});
          if (smoothing == 0)
            require_gradchecks(
                [&](const std::vector<Tensor>& in) {
                  return nll_loss(in[0], t, {.weight = w, .reduction = reduction, .ignore_index = ignore});
                },
                {leaf(shape)});
        }
  // A transposed (non-contiguous) [N, C] input.
  const Tensor t = random_labels({4}, 3);
  const Tensor w = random_weight(3);
  require_gradchecks(
      [&](const std::vector<Tensor>& in) {
        return cross_entropy(in[0].t(), t, {.weight = w, .label_smoothing = 0.2});
      },
      {leaf({3, 4})});
}

TEST_CASE("a class weight that requires grad is refused, as PyTorch", "[loss][weight][errors]") {
  const Tensor w = f64_tensor({1, 2, 3}, {}, true);
  XGRAD_REQUIRE_THROWS_WITH(cross_entropy(example_logits(), labels({0, 1}), {.weight = w}), AutogradError,
                            "cross_entropy", "weight", "requires grad", "detach");
  XGRAD_REQUIRE_THROWS_WITH(nll_loss(example_logits(), labels({0, 1}), {.weight = w}), AutogradError, "nll_loss");
  const NoGradGuard no_grad;
  CHECK_NOTHROW(nll_loss(example_logits(), labels({0, 1}), {.weight = w}));
}

// ---- unbatched inputs ---------------------------------------------------------------

TEST_CASE("an unbatched input [C] with a 0-d target is a batch of one", "[loss][unbatched]") {
  const Tensor u = f64_tensor({1, 2, 3});
  const Tensor t = label(1);
  for (Reduction reduction : all_reductions) {
    const Tensor loss = cross_entropy(u, t, {.reduction = reduction});
    CHECK(loss.shape().empty());
    CHECK(loss.item() == Approx(1.4076059644443804).epsilon(1e-14));
  }
  CHECK(nll_loss(u, label(2), {.weight = example_weight()}).item() == Approx(-3).epsilon(1e-14));
  require_nan(nll_loss(u, label(-100)));
  Tensor x = f64_tensor({1, 2, 3}, {}, true);
  const Tensor loss = cross_entropy(x, t, {.weight = example_weight(), .label_smoothing = 0.2});
  CHECK(loss.item() == Approx(1.372219430320922).epsilon(1e-14));
  loss.backward();
  require_values(x.grad(), {0.04758680812972223, -0.6164997851439846, 0.5689129770142624}, 1e-14);
  // With class probabilities [C].
  const Tensor soft = cross_entropy(u, f64_tensor({0.2, 0.3, 0.5}), {.reduction = Reduction::none});
  CHECK(soft.shape().empty());
  CHECK(soft.item() == Approx(1.1076059644443805).epsilon(1e-14));

  manual_seed(42);
  for (Reduction reduction : all_reductions) {
    INFO("reduction " << reduction_name(reduction));
    const Tensor w = random_weight(5);
    require_gradchecks(
        [&](const std::vector<Tensor>& in) {
          return cross_entropy(in[0], label(3), {.weight = w, .reduction = reduction, .label_smoothing = 0.1});
        },
        {leaf({5})});
    require_gradchecks(
        [&](const std::vector<Tensor>& in) { return nll_loss(in[0], label(0), {.reduction = reduction}); },
        {leaf({5})});
    require_gradchecks(
        [&](const std::vector<Tensor>& in) {
          return cross_entropy(in[0], in[1], {.weight = in[2], .reduction = reduction, .label_smoothing = 0.2});
        },
        {leaf({5}), leaf({5}), leaf({5})});
  }
}

// ---- class-probability targets --------------------------------------------------------

TEST_CASE("cross_entropy with class probabilities gives PyTorch's values", "[loss][cross_entropy][soft]") {
  const Tensor q = example_probs();
  require_values(cross_entropy(example_logits(), q, {.reduction = Reduction::none}),
                 {0.8076059644443805, 0.9076059644443804}, 1e-14);
  CHECK(cross_entropy(example_logits(), q, {.reduction = Reduction::sum}).item() ==
        Approx(1.7152119288887608).epsilon(1e-14));
  CHECK(cross_entropy(example_logits(), q).item() == Approx(0.8576059644443804).epsilon(1e-14));
  // A negative ignore_index other than the default is accepted (it does not apply).
  CHECK(cross_entropy(example_logits(), q, {.ignore_index = -5}).item() == Approx(0.8576059644443804).epsilon(1e-14));
  // Full smoothing: uniform targets.
  require_values(cross_entropy(example_logits(), q, {.reduction = Reduction::none, .label_smoothing = 1.0}),
                 {1.4076059644443801, 1.4076059644443804}, 1e-14);

  // Weights and smoothing; mean divides by the number of samples, not by the weights.
  const auto options = [](Reduction r, const Tensor& w) {
    return CrossEntropyOptions{.weight = w, .reduction = r, .label_smoothing = 0.2};
  };
  require_values(cross_entropy(example_logits(), q, options(Reduction::none, example_weight())),
                 {0.2940568493984922, 0.31536159051850143}, 1e-14);
  CHECK(cross_entropy(example_logits(), q, options(Reduction::sum, example_weight())).item() ==
        Approx(0.6094184399169936).epsilon(1e-14));
  // Gradients reach the logits, the probabilities and the weight (PyTorch composes this loss of ops).
  Tensor x = example_logits(true), p = example_probs(true), w = example_weight().requires_grad_();
  const Tensor loss = cross_entropy(x, p, options(Reduction::mean, w));
  CHECK(loss.item() == Approx(0.3047092199584968).epsilon(1e-14));
  loss.backward();
  require_values(x.grad(),
                 {0.0038196110243181127, 0.016250912723251774, -0.020070523747569922, 0.0420321274366429,
                  -0.03736953719269364, -0.004662590243949275},
                 1e-14);
  require_values(p.grad(),
                 {0.19260847715555046, 0.16891271573332567, 0.08152119288887609, 0.03260847715555044,
                  0.16891271573332567, 0.4815211928888761},
                 1e-14);
  require_values(w.grad(), {0.2716658290962767, 0.4879700676740519, 0.20797006767405185}, 1e-14);
}

TEST_CASE("K-dim cross_entropy with class probabilities", "[loss][cross_entropy][soft]") {
  const Tensor none = cross_entropy(spatial_logits(), spatial_probs(), {.reduction = Reduction::none});
  CHECK(none.shape() == Shape{2, 2});
  require_values(none, {1.3913806941849884, 1.7742312711777677, 0.6868348922324127, 1.57776797263718}, 1e-14);
  CHECK(cross_entropy(spatial_logits(), spatial_probs(), {.reduction = Reduction::sum}).item() ==
        Approx(5.430214830232349).epsilon(1e-14));
  CHECK(cross_entropy(spatial_logits(), spatial_probs()).item() == Approx(1.3575537075580872).epsilon(1e-14));
  CHECK(cross_entropy(spatial_logits(), spatial_probs(), {.weight = example_weight()}).item() ==
        Approx(0.4041670626135582).epsilon(1e-14));
  // One-hot probabilities are the class labels.
  const Tensor onehot = f64_tensor({0, 0, 1, 0, 1, 0}, {2, 3});
  for (Reduction reduction : all_reductions)
    require_values(cross_entropy(example_logits(), onehot, {.reduction = reduction}),
                   values(cross_entropy(example_logits(), labels({2, 1}), {.reduction = reduction})), 1e-14);
  // No samples: the mean is NaN, the sum 0.
  require_nan(cross_entropy(zeros({0, 3}, {.dtype = f64}), zeros({0, 3}, {.dtype = f64})));
  CHECK(cross_entropy(zeros({0, 3}, {.dtype = f64}), zeros({0, 3}, {.dtype = f64}), {.reduction = Reduction::sum})
            .item() == 0);
}

TEST_CASE("soft-target cross_entropy passes gradcheck in logits, probabilities and weight",
          "[loss][cross_entropy][soft][gradcheck]") {
  manual_seed(43);
  for (const Shape& shape : class_shapes)
    for (Reduction reduction : all_reductions)
      for (double smoothing : {0.0, 0.25}) {
        INFO("shape " << shape_to_string(shape) << ", reduction " << reduction_name(reduction) << ", smoothing "
                      << smoothing);
        const Tensor q = softmax(randn(shape, {.dtype = f64}), 1).detach().requires_grad_();
        require_gradchecks(
            [&](const std::vector<Tensor>& in) {
              return cross_entropy(in[0], in[1], {.reduction = reduction, .label_smoothing = smoothing});
            },
            {leaf(shape), q});
        const Tensor w = random_weight(shape[1]).requires_grad_();
        require_gradchecks(
            [&](const std::vector<Tensor>& in) {
              return cross_entropy(in[0], in[1],
                                   {.weight = in[2], .reduction = reduction, .label_smoothing = smoothing});
            },
            {leaf(shape), q, w});
      }
  // Transposed logits and probabilities.
  require_gradchecks([](const std::vector<Tensor>& in) { return cross_entropy(in[0].t(), in[1].t()); },
                     {leaf({3, 4}), leaf({3, 4})});
}

TEST_CASE("weighted and soft-target class losses in f32 agree with f64", "[loss][weight][soft]") {
  manual_seed(44);
  const Tensor logits = randn({6, 5, 2}, {.dtype = f64}) * 3.0;
  const Tensor t = random_labels({6, 2}, 5);
  const Tensor q = softmax(randn({6, 5, 2}, {.dtype = f64}), 1);
  const Tensor w = random_weight(5);
  for (Reduction reduction : all_reductions) {
    const CrossEntropyOptions o64{.weight = w, .reduction = reduction, .label_smoothing = 0.1};
    const CrossEntropyOptions o32{.weight = w.to(f32), .reduction = reduction, .label_smoothing = 0.1};
    const Tensor hard = cross_entropy(logits.to(f32), t, o32);
    const Tensor soft = cross_entropy(logits.to(f32), q.to(f32), o32);
    CHECK(hard.dtype() == f32);
    CHECK(soft.dtype() == f32);
    require_values(hard, values(cross_entropy(logits, t, o64)), 1e-5);
    require_values(soft, values(cross_entropy(logits, q, o64)), 1e-5);
  }
}
