// The loss modules (nn/loss.hpp): each equals its functional loss with the same
// options, registers its weights as PyTorch does, and refuses a call without a target.

#include <memory>
#include <string>
#include <vector>

#include "loss_support.hpp"
#include "xgrad/nn.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

std::vector<std::string> names(const nn::StateDict& d) {
  std::vector<std::string> out;
  for (const auto& [n, t] : d) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("loss modules equal their functional losses", "[nn][loss]") {
  manual_seed(61);
  const Tensor logits = randn({4, 3}, {.dtype = f64}), t = random_labels({4}, 3);
  const Tensor x = randn({4, 3}, {.dtype = f64}), y = randn({4, 3}, {.dtype = f64});
  const Tensor p = sigmoid(x), q = sigmoid(y), w = f64_tensor({0.2, 0.3, 0.5});
  const auto same = [](const Tensor& a, const Tensor& b) { require_values(a, values(b), 0); };

  const CrossEntropyOptions ce{.weight = w, .reduction = Reduction::sum, .ignore_index = 1, .label_smoothing = 0.1};
  same(nn::CrossEntropyLoss(ce)(logits, t), cross_entropy(logits, t, ce));
  same(nn::CrossEntropyLoss()(logits, softmax(y, 1)), cross_entropy(logits, softmax(y, 1)));
  const NllLossOptions nll{.weight = w, .reduction = Reduction::none};
  same(nn::NLLLoss(nll)(log_softmax(logits, 1), t), nll_loss(log_softmax(logits, 1), t, nll));
  same(nn::MSELoss()(x, y), mse_loss(x, y));
  same(nn::L1Loss({.reduction = Reduction::sum})(x, y), l1_loss(x, y, {.reduction = Reduction::sum}));
  same(nn::SmoothL1Loss({.beta = 0.5})(x, y), smooth_l1_loss(x, y, {.beta = 0.5}));
  same(nn::HuberLoss({.delta = 0.3})(x, y), huber_loss(x, y, {.delta = 0.3}));
  same(nn::BCELoss({.weight = w})(p, q), binary_cross_entropy(p, q, {.weight = w}));
  const BinaryCrossEntropyWithLogitsOptions bcel{.weight = w, .pos_weight = w * 3.0};
  same(nn::BCEWithLogitsLoss(bcel)(x, q), binary_cross_entropy_with_logits(x, q, bcel));
  same(nn::KLDivLoss({.reduction = Reduction::batchmean, .log_target = true})(x, y),
       kl_div(x, y, {.reduction = Reduction::batchmean, .log_target = true}));
  // The defaults are PyTorch's: mean, ignore_index -100, beta 1, delta 1.
  same(nn::CrossEntropyLoss()(logits, t), cross_entropy(logits, t));
  same(nn::SmoothL1Loss()(x, y), smooth_l1_loss(x, y, {.reduction = Reduction::mean, .beta = 1.0}));
  same(nn::HuberLoss()(x, y), huber_loss(x, y, {.reduction = Reduction::mean, .delta = 1.0}));
}

TEST_CASE("a loss module's weights are buffers, as PyTorch's", "[nn][loss]") {
  const Tensor w = from_vector(std::vector<float>{0.2f, 0.3f, 0.5f});
  nn::CrossEntropyLoss criterion({.weight = w});
  CHECK(names(criterion.state_dict()) == std::vector<std::string>{"weight"});
  CHECK(criterion.parameters().empty());
  CHECK(names(nn::CrossEntropyLoss().state_dict()).empty());
  nn::BCEWithLogitsLoss bcel({.pos_weight = w});
  CHECK(names(bcel.state_dict()) == std::vector<std::string>{"pos_weight"});
  CHECK(names(nn::BCEWithLogitsLoss({.weight = w, .pos_weight = w}).state_dict()) ==
        std::vector<std::string>{"weight", "pos_weight"});
  CHECK(names(nn::BCELoss({.weight = w}).state_dict()) == std::vector<std::string>{"weight"});
  CHECK(names(nn::NLLLoss({.weight = w}).state_dict()) == std::vector<std::string>{"weight"});

  // load_state_dict and to() change the weight the loss uses.
  const Tensor logits = from_vector(std::vector<double>{1, 2, 3, 1, 0, -1}, {2, 3});
  const Tensor t = labels({2, 1});
  criterion.load_state_dict({{"weight", from_vector(std::vector<float>{1, 1, 1})}});
  criterion.to(f64);
  CHECK(criterion.options.weight.dtype() == f64);
  CHECK(criterion(logits, t).item() == Approx(cross_entropy(logits, t).item()).epsilon(1e-14));
  CHECK(values(w) == std::vector<double>{1, 1, 1});  // the buffer is the caller's tensor, as in PyTorch
}

TEST_CASE("loss modules train a layer and print their options", "[nn][loss]") {
  manual_seed(62);
  auto fc = std::make_shared<nn::Linear>(4, 3);
  const std::shared_ptr<nn::Loss> criterion = std::make_shared<nn::CrossEntropyLoss>();
  const Tensor x = randn({5, 4}), t = random_labels({5}, 3);
  (*criterion)((*fc)(x), t).backward();
  CHECK(fc->weight.grad().defined());
  CHECK(fc->weight.grad().abs().sum().item() > 0);

  CHECK(nn::CrossEntropyLoss().extra_repr().empty());
  CHECK(nn::CrossEntropyLoss({.weight = ones({3}), .reduction = Reduction::sum, .label_smoothing = 0.1}).extra_repr() ==
        "weight=[3], reduction='sum', label_smoothing=0.1");
  CHECK(nn::NLLLoss({.ignore_index = 0}).extra_repr() == "ignore_index=0");
  CHECK(nn::SmoothL1Loss({.beta = 0.5}).extra_repr() == "beta=0.5");
  CHECK(nn::HuberLoss({.reduction = Reduction::none, .delta = 2}).extra_repr() == "reduction='none', delta=2");
  CHECK(nn::KLDivLoss({.reduction = Reduction::batchmean}).extra_repr() == "reduction='batchmean'");
  CHECK(nn::BCEWithLogitsLoss({.pos_weight = ones({3})}).extra_repr() == "pos_weight=[3]");
  CHECK(nn::MSELoss().type_name() == "MSELoss");
}

TEST_CASE("a loss module called without a target says so", "[nn][loss][errors]") {
  nn::MSELoss mse;
  nn::Module& as_module = mse;
  XGRAD_REQUIRE_THROWS_WITH(as_module(zeros({2})), Error, "MSELoss", "input and a target", "forward(input, target)");
  XGRAD_REQUIRE_THROWS_WITH(mse.forward(zeros({2})), Error, "MSELoss");
  XGRAD_REQUIRE_THROWS_WITH(nn::BCELoss()(full({2}, 2.0), zeros({2})), ValueError, "binary_cross_entropy",
                            "between 0 and 1");
}
