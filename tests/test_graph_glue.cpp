// The glue that turns primitives into backbones: residual add (ResNet),
// channel concatenation (DenseNet), flatten into a classifier, padding.

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

TEST_CASE("a residual block's gradient sums both paths", "[glue][residual]") {
  manual_seed(21);
  // y = relu(bn(conv(x))) + x: x reaches y twice, through the block and the shortcut.
  Tensor x = leaf({2, 3, 5, 4});
  Tensor w = leaf({3, 3, 3, 3});
  Tensor gamma = leaf({3});
  Tensor beta = leaf({3});
  require_gradcheck(
      [](const std::vector<Tensor>& in) {
        Tensor h = conv2d(in[0], in[1], {}, {.padding = {1, 1}});
        h = batch_norm(h, {}, {}, in[2], in[3], {.training = true});
        return relu(h) + in[0];
      },
      {x, w, gamma, beta});

  // The shortcut alone: d(x + x)/dx = 2 exactly, for a feature map.
  Tensor f = leaf({1, 2, 3, 3});
  (f + f).sum().backward();
  require_values(f.grad(), std::vector<double>(18, 2.0));
}

TEST_CASE("a projection shortcut (1x1 stride-2 conv) matches the block's output shape", "[glue][residual]") {
  manual_seed(22);
  require_gradcheck(
      [](const std::vector<Tensor>& in) {
        Tensor main = conv2d(in[0], in[1], {}, {.stride = {2, 2}, .padding = {1, 1}});
        Tensor shortcut = conv2d(in[0], in[2], {}, {.stride = {2, 2}});
        return relu(main + shortcut);
      },
      {leaf({2, 2, 5, 5}), leaf({4, 2, 3, 3}), leaf({4, 2, 1, 1})});
}

TEST_CASE("dense connectivity: channel concatenation of a map with its own features", "[glue][densenet]") {
  manual_seed(23);
  // Two DenseNet layers: each sees the concatenation of everything before it.
  require_gradcheck(
      [](const std::vector<Tensor>& in) {
        Tensor features = in[0];
        Tensor a = conv2d(relu(features), in[1], {}, {.padding = {1, 1}});
        features = cat({features, a}, 1);
        Tensor b = conv2d(relu(features), in[2], {}, {.padding = {1, 1}});
        features = cat({features, b}, 1);
        return avg_pool2d(features, {.kernel = {2, 2}});
      },
      {leaf({1, 2, 4, 4}), leaf({2, 2, 3, 3}), leaf({2, 4, 3, 3})});
}

TEST_CASE("feature maps flatten into a linear classifier", "[glue]") {
  manual_seed(24);
  require_gradcheck(
      [](const std::vector<Tensor>& in) {
        Tensor h = max_pool2d(relu(conv2d(in[0], in[1])), {.kernel = {2, 2}});
        return log_softmax(linear(flatten(h, 1), in[2]), 1);
      },
      {leaf({2, 1, 6, 6}), leaf({3, 1, 3, 3}), leaf({4, 12})});
}
