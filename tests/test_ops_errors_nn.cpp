// Error inputs of the losses, batch_norm, group_norm, layer_norm, instance_norm
// (and their modules), dropout, local_response_norm and the interpolation ops.
//
// Not listed (PyTorch accepts them, xgrad does not): label_smoothing < 0 (PyTorch
// 1.13 only checks <= 1, and treats it as 0); losses of mixed f32 / f64 operands
// (a weight, pos_weight or target of the other floating dtype: PyTorch promotes
// some of them); batch_norm and instance_norm with only one of running_mean and
// running_var; local_response_norm of an integer input; interpolate with antialias (not
// implemented: InterpolateOptions has no such field).
// PyTorch refuses, xgrad accepts: local_response_norm of a 2-D input [N, C]
// (PyTorch wants 3-D or more; xgrad's tests use [N, C] inputs).

#include <cmath>

#include "ops_errors_support.hpp"

namespace xgrad::testing::errors {

namespace {

void class_loss_cases(Cases& c) {
  using Loss = std::function<Tensor(const Tensor&, const Tensor&, std::int64_t)>;
  const std::pair<std::string, Loss> losses[] = {
      {"nll_loss", [](const Tensor& x, const Tensor& t, std::int64_t ignore) {
         return nll_loss(x, t, {.ignore_index = ignore});
       }},
      {"cross_entropy", [](const Tensor& x, const Tensor& t, std::int64_t ignore) {
         return cross_entropy(x, t, {.ignore_index = ignore});
       }}};
  for (const auto& entry : losses) {
    const std::string& op = entry.first;
    const Loss fn = entry.second;
    const auto name = [&](const char* what) { return op + "/" + what; };
    const auto call = [fn](Tensor x, Tensor t, std::int64_t ignore = -100) { return [=] { fn(x, t, ignore); }; };
    expect<Error>(c, name("undefined_input"), op, call(Tensor(), labels({0, 1}, {2})), {"input", "undefined"});
    expect<Error>(c, name("undefined_target"), op, call(t32({2, 3}), Tensor()), {"target", "undefined"});
    expect<DTypeError>(c, name("float_target"), op, call(t32({2, 3}), t32({2})), {"i64", "f32", "[2]"});
    expect<DTypeError>(c, name("f64_target_spatial"), op, call(t32({2, 3, 4}), t64({2, 4})), {"f64", "[2, 4]"});
    expect<DTypeError>(c, name("i64_input"), op, call(ti64({2, 3}), labels({0, 1}, {2})), {"i64", "[2, 3]"});
    expect<ShapeError>(c, name("scalar_input"), op, call(full({}, 1.0), labels({0}, {})), {"[]"});
    expect<ValueError>(c, name("label_equals_classes"), op, call(t32({2, 3}), labels({0, 3}, {2})),
                       {"target 3", "3 classes", "[1]"});
    expect<ValueError>(c, name("label_far_out"), op, call(t32({2, 3}), labels({7, 0}, {2})), {"target 7", "[0]"});
    expect<ValueError>(c, name("label_negative"), op, call(t32({2, 3}), labels({0, -1}, {2})), {"target -1"});
    expect<ValueError>(c, name("label_negative_custom_ignore"), op, call(t32({2, 3}), labels({-100, 1}, {2}), -1),
                       {"target -100", "ignore_index -1"});
    expect<ValueError>(c, name("label_spatial"), op, call(t32({2, 3, 2}), labels({0, 1, 2, 5}, {2, 2})),
                       {"target 5", "[1, 1]", "3 classes"});
    expect<ShapeError>(c, name("target_batch"), op, call(t32({2, 3}), labels({0, 1, 2}, {3})), {"[3]", "[2, 3]"});
    expect<ShapeError>(c, name("target_extra_dim"), op, call(t32({2, 3}), labels({0, 1}, {2, 1})),
                       {"[2, 1]", "[2, 3]", "expected target shape [2]"});
    expect<ShapeError>(c, name("target_spatial"), op, call(t32({2, 3, 4, 4}), ti64({2, 4, 5})),
                       {"[2, 4, 5]", "[2, 3, 4, 4]", "[2, 4, 4]"});
  }
  expect<ValueError>(c, "cross_entropy/label_smoothing_above_1", "cross_entropy",
                     [] { cross_entropy(t32({2, 3}), labels({0, 1}, {2}), {.label_smoothing = 1.5}); },
                     {"label_smoothing", "1.5"});
  expect<ValueError>(c, "cross_entropy/label_smoothing_nan", "cross_entropy",
                     [] { cross_entropy(t32({2, 3}), labels({0, 1}, {2}), {.label_smoothing = std::nan("")}); },
                     {"label_smoothing", "nan"});
}

// Class weights, unbatched inputs, class-probability targets, reductions.
void class_loss_option_cases(Cases& c) {
  const char* ce = "cross_entropy";
  const char* nll = "nll_loss";
  const Tensor t = labels({0, 1}, {2});
  expect<ShapeError>(c, "nll_loss/weight_size", nll, [=] { nll_loss(t32({2, 3}), t, {.weight = t32({2})}); },
                     {"all 3 classes", "weight of shape [2]", "[2, 3]"});
  expect<ShapeError>(c, "cross_entropy/weight_2d", ce, [=] { cross_entropy(t32({2, 3}), t, {.weight = t32({1, 3})}); },
                     {"all 3 classes", "[1, 3]"});
  expect<ShapeError>(c, "cross_entropy/weight_spatial_size", ce,
                     [] { cross_entropy(t32({2, 4, 5}), ti64({2, 5}), {.weight = t32({5})}); },
                     {"all 4 classes", "[5]", "[2, 4, 5]"});
  expect<DTypeError>(c, "nll_loss/weight_dtype", nll, [=] { nll_loss(t32({2, 3}), t, {.weight = t64({3})}); },
                     {"weight", "f64", "f32"});
  expect<DTypeError>(c, "cross_entropy/weight_i64", ce, [=] { cross_entropy(t32({2, 3}), t, {.weight = ti64({3})}); },
                     {"weight", "i64"});
  expect<AutogradError>(c, "cross_entropy/weight_requires_grad", ce,
                        [=] { cross_entropy(t32({2, 3}), t, {.weight = ones({3}, {.requires_grad = true})}); },
                        {"weight", "[3]", "requires grad", "detach"});
  expect<AutogradError>(c, "nll_loss/weight_requires_grad", nll,
                        [=] { nll_loss(t32({2, 3}), t, {.weight = ones({3}, {.requires_grad = true})}); },
                        {"weight", "requires grad"});
  expect<ShapeError>(c, "cross_entropy/unbatched_target_1d", ce, [] { cross_entropy(t32({3}), labels({1}, {1})); },
                     {"unbatched", "[3]", "0-d target", "[1]"});
  expect<ShapeError>(c, "nll_loss/unbatched_target_2", nll, [] { nll_loss(t32({3}), labels({1, 2}, {2})); },
                     {"unbatched", "[2]"});
  expect<ValueError>(c, "nll_loss/unbatched_label", nll, [] { nll_loss(t32({3}), labels({3}, {1}).reshape({})); },
                     {"target 3", "3 classes"});
  expect<DTypeError>(c, "cross_entropy/probabilities_i64", ce, [] { cross_entropy(t32({2, 3}), ti64({2, 3})); },
                     {"class probabilities", "must be floating", "i64", "[2, 3]"});
  expect<DTypeError>(c, "cross_entropy/probabilities_dtype", ce, [] { cross_entropy(t32({2, 3}), t64({2, 3})); },
                     {"f32", "f64"});
  expect<DTypeError>(c, "cross_entropy/probabilities_shape", ce, [] { cross_entropy(t32({2, 3}), t32({2, 4})); },
                     {"class probabilities", "[2, 3]", "f32", "[2, 4]"});
  expect<ValueError>(c, "cross_entropy/probabilities_ignore_index", ce,
                     [] { cross_entropy(t32({2, 3}), t32({2, 3}), {.ignore_index = 1}); },
                     {"ignore_index 1", "class-probability targets"});
  expect<ShapeError>(c, "cross_entropy/probabilities_weight_size", ce,
                     [] { cross_entropy(t32({2, 3}), t32({2, 3}), {.weight = t32({4})}); }, {"all 3 classes", "[4]"});
  expect<ValueError>(c, "cross_entropy/probabilities_smoothing", ce,
                     [] {
                       cross_entropy(t32({2, 3}), t32({2, 3}), {.label_smoothing = 1.5});
                     },
                     {"label_smoothing", "1.5"});
  expect<ValueError>(c, "cross_entropy/batchmean", ce,
                     [=] {
                       cross_entropy(t32({2, 3}), t, {.reduction = Reduction::batchmean});
                     },
                     {"batchmean", "kl_div"});
  expect<ValueError>(c, "nll_loss/bad_reduction", nll,
                     [=] {
                       nll_loss(t32({2, 3}), t, {.reduction = static_cast<Reduction>(9)});
                     },
                     {"unknown reduction 9"});
}

// mse_loss, l1_loss, smooth_l1_loss, huber_loss and kl_div share the checks of two broadcast operands.
void regression_loss_cases(Cases& c) {
  using Loss = std::function<Tensor(const Tensor&, const Tensor&, Reduction)>;
  const std::pair<std::string, Loss> losses[] = {
      {"mse_loss", [](const Tensor& x, const Tensor& y, Reduction r) { return mse_loss(x, y, {.reduction = r}); }},
      {"l1_loss", [](const Tensor& x, const Tensor& y, Reduction r) { return l1_loss(x, y, {.reduction = r}); }},
      {"smooth_l1_loss",
       [](const Tensor& x, const Tensor& y, Reduction r) { return smooth_l1_loss(x, y, {.reduction = r}); }},
      {"huber_loss", [](const Tensor& x, const Tensor& y, Reduction r) { return huber_loss(x, y, {.reduction = r}); }},
      {"kl_div", [](const Tensor& x, const Tensor& y, Reduction r) { return kl_div(x, y, {.reduction = r}); }}};
  for (const auto& [op, fn] : losses) {
    const auto name = [&op = op](const char* what) { return op + "/" + what; };
    const auto call = [fn = fn](Tensor x, Tensor y, Reduction r = Reduction::mean) { return [=] { fn(x, y, r); }; };
    expect<Error>(c, name("undefined_input"), op, call(Tensor(), t32({2})), {"input", "undefined"});
    expect<Error>(c, name("undefined_target"), op, call(t32({2}), Tensor()), {"target", "undefined"});
    expect<ShapeError>(c, name("not_broadcastable"), op, call(t32({2, 3}), t32({4})), {"[2, 3]", "[4]"});
    expect<ShapeError>(c, name("transposed"), op, call(t32({2, 3}), t32({3, 2})), {"[2, 3]", "[3, 2]"});
    expect<DTypeError>(c, name("i64"), op, call(ti64({2, 3}), ti64({2, 3})), {"i64"});
    expect<DTypeError>(c, name("mixed_dtypes"), op, call(t32({2, 3}), t64({2, 3})), {"f32", "f64"});
    expect<ValueError>(c, name("bad_reduction"), op, call(t32({2}), t32({2}), static_cast<Reduction>(-1)),
                       {"unknown reduction -1"});
    if (op != "kl_div")
      expect<ValueError>(c, name("batchmean"), op, call(t32({2}), t32({2}), Reduction::batchmean), {"batchmean"});
  }
  expect<ValueError>(c, "smooth_l1_loss/negative_beta", "smooth_l1_loss",
                     [] { smooth_l1_loss(t32({2}), t32({2}), {.beta = -0.5}); }, {"beta", ">= 0", "-0.5"});
  expect<ValueError>(c, "smooth_l1_loss/nan_beta", "smooth_l1_loss",
                     [] { smooth_l1_loss(t32({2}), t32({2}), {.beta = std::nan("")}); }, {"beta", "nan"});
  expect<ValueError>(c, "huber_loss/zero_delta", "huber_loss", [] { huber_loss(t32({2}), t32({2}), {.delta = 0}); },
                     {"delta", "> 0", "got 0"});
  expect<ValueError>(c, "huber_loss/negative_delta", "huber_loss",
                     [] { huber_loss(t32({2}), t32({2}), {.delta = -1}); }, {"delta", "-1"});
}

void binary_loss_cases(Cases& c) {
  const char* bce = "binary_cross_entropy";
  const auto probs = [](std::vector<float> v) { return from_vector(v); };
  expect<ValueError>(c, "binary_cross_entropy/above_1", bce,
                     [=] { binary_cross_entropy(probs({0.5f, 1.5f}), t32({2})); },
                     {"all elements of input should be between 0 and 1", "1.5", "position [1]", "[2]"});
  expect<ValueError>(c, "binary_cross_entropy/negative", bce,
                     [=] { binary_cross_entropy(probs({-0.25f, 0.5f}).reshape({2, 1}), t32({2, 1})); },
                     {"between 0 and 1", "-0.25", "[0, 0]"});
  expect<ValueError>(c, "binary_cross_entropy/nan", bce,
                     [=] { binary_cross_entropy(probs({0.5f, std::nanf("")}), t32({2})); }, {"between 0 and 1", "nan"});
  expect<ShapeError>(c, "binary_cross_entropy/target_shape", bce, [] { binary_cross_entropy(t32({2}), t32({1, 2})); },
                     {"target shape [1, 2]", "input shape [2]"});
  expect<DTypeError>(c, "binary_cross_entropy/target_dtype", bce, [] { binary_cross_entropy(t64({2}), t32({2})); },
                     {"f64", "f32"});
  expect<DTypeError>(c, "binary_cross_entropy/i64", bce, [] { binary_cross_entropy(ti64({2}), ti64({2})); }, {"i64"});
  expect<ShapeError>(c, "binary_cross_entropy/weight_bigger", bce,
                     [] { binary_cross_entropy(t32({2, 3}), t32({2, 3}), {.weight = t32({2, 2, 3})}); },
                     {"weight of shape [2, 2, 3]", "input shape [2, 3]"});
  expect<ShapeError>(c, "binary_cross_entropy/weight_mismatch", bce,
                     [] { binary_cross_entropy(t32({2, 3}), t32({2, 3}), {.weight = t32({2})}); }, {"[2]", "[2, 3]"});
  expect<DTypeError>(c, "binary_cross_entropy/weight_dtype", bce,
                     [] { binary_cross_entropy(t32({2}), t32({2}), {.weight = t64({2})}); }, {"weight", "f64"});
  expect<AutogradError>(
      c, "binary_cross_entropy/weight_requires_grad", bce,
      [] { binary_cross_entropy(t32({2}), t32({2}), {.weight = ones({2}, {.requires_grad = true})}); },
      {"weight", "requires grad"});
  expect<ValueError>(c, "binary_cross_entropy/batchmean", bce,
                     [] { binary_cross_entropy(t32({2}), t32({2}), {.reduction = Reduction::batchmean}); },
                     {"batchmean"});

  const char* bcel = "binary_cross_entropy_with_logits";
  expect<ShapeError>(c, "binary_cross_entropy_with_logits/target_shape", bcel,
                     [] { binary_cross_entropy_with_logits(t32({2, 3}), t32({3})); }, {"[3]", "[2, 3]"});
  expect<DTypeError>(c, "binary_cross_entropy_with_logits/target_i64", bcel,
                     [] { binary_cross_entropy_with_logits(t32({2}), ti64({2})); }, {"f32", "i64"});
  expect<ShapeError>(c, "binary_cross_entropy_with_logits/pos_weight_shape", bcel,
                     [] { binary_cross_entropy_with_logits(t32({2, 3}), t32({2, 3}), {.pos_weight = t32({2})}); },
                     {"pos_weight of shape [2]", "[2, 3]"});
  expect<ShapeError>(c, "binary_cross_entropy_with_logits/pos_weight_bigger", bcel,
                     [] { binary_cross_entropy_with_logits(t32({3}), t32({3}), {.pos_weight = t32({2, 3})}); },
                     {"pos_weight of shape [2, 3]", "[3]"});
  expect<ShapeError>(c, "binary_cross_entropy_with_logits/weight_shape", bcel,
                     [] { binary_cross_entropy_with_logits(t32({2, 3}), t32({2, 3}), {.weight = t32({3, 1})}); },
                     {"weight of shape [3, 1]", "[2, 3]"});
  expect<DTypeError>(c, "binary_cross_entropy_with_logits/pos_weight_dtype", bcel,
                     [] { binary_cross_entropy_with_logits(t32({2}), t32({2}), {.pos_weight = t64({2})}); },
                     {"pos_weight", "f64", "f32"});
  expect<AutogradError>(c, "binary_cross_entropy_with_logits/pos_weight_requires_grad", bcel,
                        [] {
                          binary_cross_entropy_with_logits(t32({2}), t32({2}),
                                                           {.pos_weight = ones({2}, {.requires_grad = true})});
                        },
                        {"pos_weight", "requires grad"});
  expect<AutogradError>(
      c, "binary_cross_entropy_with_logits/weight_requires_grad", bcel,
      [] { binary_cross_entropy_with_logits(t32({2}), t32({2}), {.weight = ones({2}, {.requires_grad = true})}); },
      {"weight", "requires grad"});
  expect<ValueError>(c, "binary_cross_entropy_with_logits/batchmean", bcel,
                     [] { binary_cross_entropy_with_logits(t32({2}), t32({2}), {.reduction = Reduction::batchmean}); },
                     {"batchmean"});
}

void norm_cases(Cases& c) {
  const char* bn = "batch_norm";
  const auto train = [](Tensor x, Tensor rm, Tensor rv, Tensor w, Tensor b) {
    return [=] { batch_norm(x, rm, rv, w, b, {.training = true}); };
  };
  const Tensor none;
  expect<Error>(c, "batch_norm/undefined", bn, train(none, none, none, none, none), {"undefined"});
  expect<DTypeError>(c, "batch_norm/i64", bn, train(ti64({4, 3, 5}), none, none, none, none), {"i64"});
  expect<ShapeError>(c, "batch_norm/vector_input", bn, train(t32({3}), none, none, none, none), {"[3]"});
  expect<ShapeError>(c, "batch_norm/scalar_input", bn, train(full({}, 1.0), none, none, none, none), {"[]"});
  expect<ShapeError>(c, "batch_norm/weight_shape", bn, train(t32({4, 3, 5}), none, none, t32({4}), none),
                     {"weight", "[4]", "3 channels", "[4, 3, 5]"});
  expect<ShapeError>(c, "batch_norm/bias_shape", bn, train(t32({4, 3, 5}), none, none, none, t32({2})),
                     {"bias", "[2]"});
  expect<ShapeError>(c, "batch_norm/running_mean_shape", bn,
                     train(t32({4, 3, 5}), t32({4}), t32({3}), none, none), {"running_mean", "[4]"});
  expect<ShapeError>(c, "batch_norm/running_var_shape", bn,
                     train(t32({4, 3, 5}), t32({3}), t32({3, 1}), none, none), {"running_var", "[3, 1]"});
  expect<DTypeError>(c, "batch_norm/weight_dtype", bn, train(t32({4, 3, 5}), none, none, t64({3}), none),
                     {"weight", "f64", "f32"});
  expect<DTypeError>(c, "batch_norm/running_mean_dtype", bn,
                     train(t32({4, 3, 5}), t64({3}), t64({3}), none, none), {"running_mean", "f64"});
  expect<DTypeError>(c, "batch_norm/running_var_dtype", bn,
                     train(t64({4, 3, 5}), t64({3}), t32({3}), none, none), {"running_var", "f32", "f64"});
  expect<ValueError>(c, "batch_norm/running_mean_requires_grad", bn,
                     train(t32({4, 3, 5}), zeros({3}, {.requires_grad = true}), t32({3}), none, none),
                     {"running_mean", "requires grad"});
  expect<ValueError>(c, "batch_norm/eval_without_stats", bn,
                     [] { batch_norm(t32({4, 3}), Tensor(), Tensor(), Tensor(), Tensor(), {.training = false}); },
                     {"running_mean", "[4, 3]"});
  expect<ValueError>(c, "batch_norm/one_value_per_channel", bn, train(t32({1, 3}), none, none, none, none),
                     {"more than 1 value", "[1, 3]"});
  expect<ValueError>(c, "batch_norm/one_value_per_channel_spatial", bn,
                     train(t32({1, 3, 1, 1}), t32({3}), t32({3}), none, none), {"[1, 3, 1, 1]"});

  const char* dr = "dropout";
  expect<Error>(c, "dropout/undefined", dr, [] { dropout(Tensor()); }, {"undefined"});
  expect<ValueError>(c, "dropout/p_negative", dr, [] { dropout(t32({2, 3}), {.p = -0.1}); }, {"p", "-0.1"});
  expect<ValueError>(c, "dropout/p_above_1", dr, [] { dropout(t32({2, 3}), {.p = 1.5}); }, {"p", "1.5"});
  expect<ValueError>(c, "dropout/p_above_1_eval", dr, [] { dropout(t32({2, 3}), {.p = 1.5, .training = false}); },
                     {"1.5"});
  expect<DTypeError>(c, "dropout/i64", dr, [] { dropout(ti64({2, 3})); }, {"i64"});

  const char* lrn = "local_response_norm";
  expect<Error>(c, "local_response_norm/undefined", lrn, [] { local_response_norm(Tensor()); }, {"undefined"});
  expect<ValueError>(c, "local_response_norm/size_zero", lrn,
                     [] { local_response_norm(t32({2, 3, 4}), {.size = 0}); }, {"size", "0"});
  expect<ValueError>(c, "local_response_norm/size_negative", lrn,
                     [] { local_response_norm(t32({2, 3, 4}), {.size = -1}); }, {"size", "-1"});
  expect<ShapeError>(c, "local_response_norm/vector", lrn, [] { local_response_norm(t32({3})); }, {"[3]"});
  expect<ShapeError>(c, "local_response_norm/scalar", lrn, [] { local_response_norm(full({}, 1.0)); }, {"[]"});
}

// group_norm, layer_norm, instance_norm and their modules.
void grouped_norm_cases(Cases& c) {
  const Tensor none;
  const char* gn = "group_norm";
  const auto group = [](Tensor x, std::int64_t groups, Tensor w = {}, Tensor b = {}) {
    return [=] { group_norm(x, groups, w, b); };
  };
  expect<Error>(c, "group_norm/undefined", gn, group(none, 1), {"undefined"});
  expect<DTypeError>(c, "group_norm/i64", gn, group(ti64({2, 4, 3}), 2), {"i64"});
  expect<ShapeError>(c, "group_norm/vector_input", gn, group(t32({4}), 2), {"[4]"});
  expect<ValueError>(c, "group_norm/groups_do_not_divide", gn, group(t32({2, 6, 3}), 4),
                     {"[2, 6, 3]", "6 channels", "num_groups = 4"});
  expect<ValueError>(c, "group_norm/groups_zero", gn, group(t32({2, 6, 3}), 0), {"num_groups", "0"});
  expect<ShapeError>(c, "group_norm/weight_shape", gn, group(t32({2, 6, 3}), 2, t32({3})), {"weight", "[3]", "[6]"});
  expect<ShapeError>(c, "group_norm/bias_shape", gn, group(t32({2, 6, 3}), 2, none, t32({6, 1})),
                     {"bias", "[6, 1]", "[6]"});
  expect<DTypeError>(c, "group_norm/weight_dtype", gn, group(t32({2, 6, 3}), 2, t64({6})), {"weight", "f64", "f32"});
  expect<ValueError>(c, "group_norm/one_value_per_group", gn, group(t32({1, 4}), 4),
                     {"more than 1 value", "[1, 4]", "num_groups = 4"});
  expect<ValueError>(c, "GroupNorm/groups_do_not_divide", "GroupNorm", [] { nn::GroupNorm(4, 6); },
                     {"divisible", "6", "4"});
  expect<ValueError>(c, "GroupNorm/groups_zero", "GroupNorm", [] { nn::GroupNorm(0, 6); }, {"num_groups", "0"});

  const char* ln = "layer_norm";
  const auto layer = [](Tensor x, std::vector<std::int64_t> shape, Tensor w = {}, Tensor b = {}) {
    return [=] { layer_norm(x, shape, w, b); };
  };
  expect<Error>(c, "layer_norm/undefined", ln, layer(none, {3}), {"undefined"});
  expect<DTypeError>(c, "layer_norm/i64", ln, layer(ti64({2, 3}), {3}), {"i64"});
  expect<ValueError>(c, "layer_norm/empty_shape", ln, layer(t32({2, 3}), {}), {"normalized_shape", "[]"});
  expect<ShapeError>(c, "layer_norm/trailing_dims", ln, layer(t32({2, 3, 4}), {3}),
                     {"normalized_shape = [3]", "[2, 3, 4]"});
  expect<ShapeError>(c, "layer_norm/too_many_dims", ln, layer(t32({4}), {2, 4}), {"[2, 4]", "[4]"});
  expect<ShapeError>(c, "layer_norm/weight_shape", ln, layer(t32({2, 3, 4}), {3, 4}, t32({4})),
                     {"weight", "[4]", "[3, 4]"});
  expect<ShapeError>(c, "layer_norm/bias_shape", ln, layer(t32({2, 3, 4}), {4}, none, t32({3})),
                     {"bias", "[3]", "[4]"});
  expect<DTypeError>(c, "layer_norm/bias_dtype", ln, layer(t32({2, 3, 4}), {4}, none, t64({4})), {"bias", "f64"});
  expect<ValueError>(c, "LayerNorm/empty_shape", "LayerNorm", [] { nn::LayerNorm(std::vector<std::int64_t>{}); },
                     {"normalized_shape"});

  const char* in = "instance_norm";
  const auto instance = [](Tensor x, Tensor rm, Tensor rv, Tensor w, Tensor b, bool use_input_stats = true) {
    return [=] { instance_norm(x, rm, rv, w, b, {.use_input_stats = use_input_stats}); };
  };
  expect<Error>(c, "instance_norm/undefined", in, instance(none, none, none, none, none), {"undefined"});
  expect<DTypeError>(c, "instance_norm/i64", in, instance(ti64({2, 3, 4}), none, none, none, none), {"i64"});
  expect<ShapeError>(c, "instance_norm/vector_input", in, instance(t32({3}), none, none, none, none), {"[3]"});
  expect<ValueError>(c, "instance_norm/one_spatial_element", in, instance(t32({2, 3}), none, none, none, none),
                     {"more than 1 spatial element", "[2, 3]"});
  expect<ValueError>(c, "instance_norm/one_spatial_element_3d", in, instance(t32({2, 3, 1, 1}), none, none, none, none),
                     {"[2, 3, 1, 1]"});
  expect<ShapeError>(c, "instance_norm/weight_shape", in, instance(t32({2, 3, 4}), none, none, t32({2}), none),
                     {"weight", "[2]", "[3]"});
  expect<ShapeError>(c, "instance_norm/running_mean_shape", in,
                     instance(t32({2, 3, 4}), t32({4}), t32({3}), none, none), {"running_mean", "[4]"});
  expect<DTypeError>(c, "instance_norm/running_var_dtype", in,
                     instance(t32({2, 3, 4}), t32({3}), t64({3}), none, none), {"running_var", "f64"});
  expect<ValueError>(c, "instance_norm/running_requires_grad", in,
                     [] {
                       instance_norm(t32({2, 3, 4}), zeros({3}, {.requires_grad = true}), ones({3}), Tensor(),
                                     Tensor());
                     },
                     {"running_mean", "requires grad"});
  expect<ValueError>(c, "instance_norm/running_stats_missing", in,
                     instance(t32({2, 3, 4}), none, none, none, none, false), {"use_input_stats", "running"});
  expect<ShapeError>(c, "InstanceNorm1d/rank", "InstanceNorm1d", [] { nn::InstanceNorm1d(3)(t32({2, 3, 4, 4})); },
                     {"2-D or 3-D", "[2, 3, 4, 4]"});
  expect<ShapeError>(c, "InstanceNorm2d/rank", "InstanceNorm2d", [] { nn::InstanceNorm2d(3)(t32({3, 4})); },
                     {"3-D or 4-D", "[3, 4]"});
  expect<ShapeError>(c, "InstanceNorm3d/channels_affine", "InstanceNorm3d",
                     [] { nn::InstanceNorm3d(3, 1e-5, 0.1, true)(t32({2, 4, 2, 2, 2})); },
                     {"3 channels", "dim 1", "[2, 4, 2, 2, 2]"});
  expect<ShapeError>(c, "InstanceNorm1d/channels_unbatched_affine", "InstanceNorm1d",
                     [] { nn::InstanceNorm1d(3, 1e-5, 0.1, true)(t32({4, 5})); }, {"dim 0", "[4, 5]"});
}

void upsample_cases(Cases& c) {
  using Resize = std::function<Tensor(const Tensor&, std::vector<std::int64_t>)>;
  const std::pair<std::string, Resize> resizes[] = {
      {"upsample_bilinear2d", [](const Tensor& x, std::vector<std::int64_t> s) { return upsample_bilinear2d(x, s); }},
      {"upsample_nearest2d", [](const Tensor& x, std::vector<std::int64_t> s) { return upsample_nearest2d(x, s); }}};
  for (const auto& entry : resizes) {
    const std::string& op = entry.first;
    const Resize fn = entry.second;
    const auto name = [&](const char* what) { return op + "/" + what; };
    const auto call = [fn](Tensor x, std::vector<std::int64_t> s) { return [=] { fn(x, s); }; };
    expect<Error>(c, name("undefined"), op, call(Tensor(), {2, 2}), {"undefined"});
    expect<ShapeError>(c, name("rank_3"), op, call(t32({2, 4, 4}), {2, 2}), {"[2, 4, 4]"});
    expect<ShapeError>(c, name("rank_5"), op, call(t32({1, 2, 4, 4, 4}), {2, 2}), {"[1, 2, 4, 4, 4]"});
    expect<ShapeError>(c, name("empty_spatial"), op, call(t32({1, 2, 0, 4}), {2, 2}), {"empty", "[1, 2, 0, 4]"});
    expect<DTypeError>(c, name("i64"), op, call(ti64({1, 2, 4, 4}), {2, 2}), {"i64"});
    expect<ValueError>(c, name("size_zero"), op, call(t32({1, 2, 4, 4}), {0, 3}), {"size", "[0, 3]"});
    expect<ValueError>(c, name("size_negative"), op, call(t32({1, 2, 4, 4}), {-1}), {"size", "[-1]"});
    expect<ValueError>(c, name("size_count"), op, call(t32({1, 2, 4, 4}), {2, 2, 2}), {"size", "[2, 2, 2]"});
    expect<ValueError>(c, name("size_missing"), op, call(t32({1, 2, 4, 4}), {}), {"size", "[]"});
  }
  const char* op = "interpolate";
  const auto interp = [](Tensor x, InterpolateOptions o) { return [=] { interpolate(x, o); }; };
  const Tensor x = t32({1, 2, 5, 5});
  expect<Error>(c, "interpolate/undefined", op, interp(Tensor(), {.size = {2}}), {"undefined"});
  expect<ShapeError>(c, "interpolate/rank_2", op, interp(t32({5, 5}), {.size = {2}}), {"[5, 5]"});
  expect<ShapeError>(c, "interpolate/rank_6", op, interp(t32({1, 1, 2, 2, 2, 2}), {.size = {2}}),
                     {"[1, 1, 2, 2, 2, 2]", "3-D", "5-D"});
  // A mode of one rank on another (PyTorch: "Got 3D input, but bilinear mode needs 4D input").
  expect<ValueError>(c, "interpolate/bilinear_rank_3", op, interp(t32({2, 5, 5}), {.size = {2}, .mode = "bilinear"}),
                     {"\"bilinear\"", "4-D", "3-D", "[2, 5, 5]"});
  expect<ValueError>(c, "interpolate/bilinear_rank_5", op,
                     interp(t32({1, 2, 5, 5, 5}), {.size = {2}, .mode = "bilinear"}),
                     {"\"bilinear\"", "4-D", "5-D", "[1, 2, 5, 5, 5]"});
  expect<ValueError>(c, "interpolate/linear_rank_4", op, interp(t32({1, 2, 5, 5}), {.size = {2}, .mode = "linear"}),
                     {"\"linear\"", "3-D", "4-D", "[1, 2, 5, 5]"});
  expect<ValueError>(c, "interpolate/linear_rank_5", op,
                     interp(t32({1, 2, 5, 5, 5}), {.size = {2}, .mode = "linear"}), {"\"linear\"", "3-D", "5-D"});
  expect<ValueError>(c, "interpolate/trilinear_rank_4", op,
                     interp(t32({1, 2, 5, 5}), {.size = {2}, .mode = "trilinear"}), {"\"trilinear\"", "5-D", "4-D"});
  expect<ValueError>(c, "interpolate/trilinear_rank_3", op,
                     interp(t32({1, 2, 5}), {.size = {2}, .mode = "trilinear"}), {"\"trilinear\"", "5-D", "3-D"});
  expect<ValueError>(c, "interpolate/bicubic_rank_3", op, interp(t32({1, 2, 5}), {.size = {2}, .mode = "bicubic"}),
                     {"\"bicubic\"", "4-D", "3-D"});
  expect<ValueError>(c, "interpolate/bicubic_rank_5", op,
                     interp(t32({1, 2, 5, 5, 5}), {.size = {2}, .mode = "bicubic"}), {"\"bicubic\"", "4-D", "5-D"});
  expect<ValueError>(c, "interpolate/align_corners_area", op,
                     interp(x, {.size = {3}, .mode = "area", .align_corners = true}), {"align_corners", "\"area\""});
  expect<ValueError>(c, "interpolate/align_corners_nearest_exact", op,
                     interp(x, {.size = {3}, .mode = "nearest-exact", .align_corners = true}),
                     {"align_corners", "\"nearest-exact\""});
  expect<ValueError>(c, "interpolate/recompute_with_size", op,
                     interp(x, {.size = {3}, .recompute_scale_factor = true}), {"recompute_scale_factor", "[3]"});
  expect<ValueError>(c, "interpolate/size_count_3d", op, interp(t32({1, 2, 5}), {.size = {3, 3}, .mode = "linear"}),
                     {"size", "[3, 3]", "[1, 2, 5]"});
  expect<ValueError>(c, "interpolate/scale_count_5d", op,
                     interp(t32({1, 2, 5, 5, 5}), {.scale_factor = {2.0, 2.0}, .mode = "trilinear"}),
                     {"scale_factor", "[2, 2]", "[1, 2, 5, 5, 5]"});
  expect<ShapeError>(c, "interpolate/empty_spatial_5d", op,
                     interp(t32({1, 2, 3, 0, 4}), {.size = {3}, .mode = "trilinear"}), {"empty", "[1, 2, 3, 0, 4]"});
  expect<DTypeError>(c, "interpolate/i64_bicubic", op, interp(ti64({1, 2, 4, 4}), {.size = {3}, .mode = "bicubic"}),
                     {"i64"});
  expect<DTypeError>(c, "interpolate/i64_area", op, interp(ti64({1, 2, 4}), {.size = {3}, .mode = "area"}), {"i64"});
  expect<ShapeError>(c, "interpolate/empty_spatial", op, interp(t32({1, 2, 0, 4}), {.size = {3}}),
                     {"empty", "[1, 2, 0, 4]"});
  expect<DTypeError>(c, "interpolate/i64", op, interp(ti64({1, 2, 4, 4}), {.size = {3}}), {"i64"});
  expect<DTypeError>(c, "interpolate/i64_bilinear", op, interp(ti64({1, 2, 4, 4}), {.size = {3}, .mode = "bilinear"}),
                     {"i64"});
  expect<ValueError>(c, "interpolate/mode", op, interp(x, {.size = {3}, .mode = "foo"}), {"\"foo\"", "nearest-exact"});
  expect<ValueError>(c, "interpolate/align_corners_nearest", op, interp(x, {.size = {3}, .align_corners = true}),
                     {"align_corners", "nearest"});
  expect<ValueError>(c, "interpolate/size_and_scale", op, interp(x, {.size = {3}, .scale_factor = {2.0}}),
                     {"[3]", "[2]"});
  expect<ValueError>(c, "interpolate/neither", op, interp(x, {}), {"size", "scale_factor"});
  expect<ValueError>(c, "interpolate/size_zero", op, interp(x, {.size = {0}}), {"[0]"});
  expect<ValueError>(c, "interpolate/size_negative", op, interp(x, {.size = {3, -1}}), {"[3, -1]"});
  expect<ValueError>(c, "interpolate/size_count", op, interp(x, {.size = {3, 3, 3}}), {"[3, 3, 3]"});
  expect<ValueError>(c, "interpolate/scale_zero", op, interp(x, {.scale_factor = {0.0}}), {"scale_factor", "[0]"});
  expect<ValueError>(c, "interpolate/scale_negative", op, interp(x, {.scale_factor = {2.0, -1.0}}),
                     {"scale_factor", "[2, -1]"});
  expect<ValueError>(c, "interpolate/scale_infinite", op, interp(x, {.scale_factor = {INFINITY}}),
                     {"scale_factor", "inf"});
  expect<ValueError>(c, "interpolate/scale_count", op, interp(x, {.scale_factor = {2.0, 2.0, 2.0}}),
                     {"scale_factor", "[2, 2, 2]"});
  expect<ValueError>(c, "interpolate/scale_leaves_nothing", op, interp(x, {.scale_factor = {0.1}}),
                     {"[0.1]", "[1, 2, 5, 5]", "0x0"});
  expect<ValueError>(c, "interpolate/scale_leaves_no_width", op,
                     interp(x, {.scale_factor = {1.0, 0.1}, .mode = "bilinear"}), {"[1, 0.1]", "5x0"});
}

}  // namespace

Cases nn_cases() {
  Cases c;
  class_loss_cases(c);
  class_loss_option_cases(c);
  regression_loss_cases(c);
  binary_loss_cases(c);
  norm_cases(c);
  grouped_norm_cases(c);
  upsample_cases(c);
  return c;
}

TEST_CASE("losses, normalisation, dropout and interpolation reject bad input with a clear error", "[errors][nn]") {
  run_cases(nn_cases());
}

}  // namespace xgrad::testing::errors
