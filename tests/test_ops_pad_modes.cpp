// pad's reflect / replicate / circular modes (ops/shape.hpp), conv's padding_mode and
// inputs without the batch dim (ops/conv.hpp), pooling's divisor_override, adaptive max
// pooling in 1-D and 3-D and unbatched inputs (ops/pooling.hpp): PyTorch 1.13's values
// on small inputs, gradchecks (first order, forward mode, second order) in float64, and
// the errors. tests/reference/ (shape, conv, pool) compares them on random inputs.

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

TEST_CASE("pad modes give PyTorch's values", "[pad][modes]") {
  const Tensor x = arange(1, 6, 1, {.dtype = f64}).reshape({1, 1, 5});
  require_values(pad(x, {2, 1}, "reflect"), {3, 2, 1, 2, 3, 4, 5, 4});
  require_values(pad(x, {2, 1}, "replicate"), {1, 1, 1, 2, 3, 4, 5, 5});
  require_values(pad(x, {2, 5}, "circular"), {4, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5});
  require_values(pad(x, {1, 1}, "constant", 7.0), {7, 1, 2, 3, 4, 5, 7});
  // The gradient adds the copies back onto their source: reflect (2, 1) reads 3 2 1 2 3 4 5 4.
  Tensor leaf = arange(1, 6, 1, {.dtype = f64}).reshape({1, 1, 5}).requires_grad_();
  pad(leaf, {2, 1}, "reflect").backward(ones({1, 1, 8}, {.dtype = f64}));
  require_values(leaf.grad(), {1, 2, 2, 2, 1});
  CHECK(pad(randn({2, 3, 4, 5}), {1, 2, 3, 0}, "replicate").shape() == Shape{2, 3, 7, 8});
}

TEST_CASE("pad modes pass gradcheck, forward mode and gradgradcheck", "[pad][modes][gradcheck]") {
  manual_seed(3);
  for (const char* mode : {"reflect", "replicate", "circular"}) {
    INFO(mode);
    require_gradchecks([mode](const std::vector<Tensor>& in) { return pad(in[0], {2, 1}, mode); }, {leaf({2, 3, 4})});
    require_gradchecks([mode](const std::vector<Tensor>& in) { return pad(in[0], {1, 2, 0, 2}, mode); },
                       {leaf({1, 2, 3, 3})});
    require_gradchecks([mode](const std::vector<Tensor>& in) { return pad(in[0].transpose(2, 3), {1, 1}, mode); },
                       {leaf({1, 2, 3, 4})});
  }
}

TEST_CASE("pad modes refuse what PyTorch refuses", "[pad][modes][errors]") {
  const Tensor x = randn({1, 2, 3});
  XGRAD_REQUIRE_THROWS_WITH(pad(x, {3, 0}, "reflect"), ValueError, "pad", "reflect", "size 3");
  XGRAD_REQUIRE_THROWS_WITH(pad(x, {4, 0}, "circular"), ValueError, "pad", "circular", "(4, 0)");
  XGRAD_REQUIRE_THROWS_WITH(pad(x, {-1, 0}, "replicate"), ValueError, "pad", "negative");
  XGRAD_REQUIRE_THROWS_WITH(pad(x, {1, 1}, "mirror"), ValueError, "pad", "\"mirror\"");
  XGRAD_REQUIRE_THROWS_WITH(pad(x, {1, 1}, "reflect", 2.0), ValueError, "pad", "constant");
  XGRAD_REQUIRE_THROWS_WITH(pad(zeros({1, 0}), {1, 1}, "replicate"), ValueError, "pad", "empty");
}

TEST_CASE("conv padding_mode pads first, as torch.nn.Conv2d", "[conv][padding_mode]") {
  manual_seed(4);
  const Tensor x = leaf({1, 2, 5, 6}), w = leaf({3, 2, 3, 3}), b = leaf({3});
  for (const char* mode : {"reflect", "replicate", "circular"}) {
    INFO(mode);
    const Tensor expected = conv2d(pad(x, {1, 1, 2, 2}, mode), w, b);
    const Tensor got = conv2d(x, w, b, {.padding = {2, 1}, .padding_mode = mode});
    require_values(got, values(expected), 1e-12);
    require_gradchecks(
        [mode](const std::vector<Tensor>& in) {
          return conv2d(in[0], in[1], in[2], {.stride = {2}, .padding = {1}, .padding_mode = mode});
        },
        {leaf({1, 2, 4, 5}), leaf({2, 2, 3, 3}), leaf({2})});
  }
  // "same" with a mode: the padding "same" computes, filled by the mode.
  const Tensor same = conv1d(randn({1, 2, 7}), randn({2, 2, 4}), Tensor(), {.padding = "same", .padding_mode = "reflect"});
  CHECK(same.shape() == Shape{1, 2, 7});
  nn::Conv2d conv(2, 3, {3}, {.padding = {1}, .padding_mode = "circular"});
  CHECK(conv.extra_repr().find("padding_mode=circular") != std::string::npos);
  CHECK(conv.forward(randn({1, 2, 4, 4})).shape() == Shape{1, 3, 4, 4});
  XGRAD_REQUIRE_THROWS_WITH(nn::Conv2d(2, 3, {3}, {.padding_mode = "mirror"}), ValueError, "Conv2d", "padding_mode");
  XGRAD_REQUIRE_THROWS_WITH(conv2d(randn({1, 2, 4, 4}), randn({3, 2, 3, 3}), Tensor(), {.padding_mode = "wrap"}),
                            ValueError, "conv2d", "\"wrap\"");
}

TEST_CASE("convolutions and pooling take inputs without the batch dim", "[conv][pool][unbatched]") {
  manual_seed(5);
  const Tensor x = randn({2, 5, 6}, {.dtype = f64}), w = randn({3, 2, 3, 3}, {.dtype = f64});
  require_values(conv2d(x, w, Tensor(), {.padding = {1}}),
                 values(conv2d(x.unsqueeze(0), w, Tensor(), {.padding = {1}})), 1e-12);
  CHECK(conv2d(x, w).shape() == Shape{3, 3, 4});
  CHECK(conv_transpose2d(x, randn({2, 4, 3, 3}, {.dtype = f64})).shape() == Shape{4, 7, 8});
  CHECK(max_pool2d(x, {.kernel = {2}}).shape() == Shape{2, 2, 3});
  const PoolWithIndices p = max_pool2d_with_indices(x, {.kernel = {2}});
  CHECK(p.indices.shape() == Shape{2, 2, 3});
  CHECK(avg_pool1d(randn({3, 8}), {.kernel = {2}}).shape() == Shape{3, 4});
  CHECK(adaptive_avg_pool2d(x, {2, 2}).shape() == Shape{2, 2, 2});
  CHECK(adaptive_max_pool3d(randn({2, 4, 4, 4}), {2, 1, 2}).shape() == Shape{2, 2, 1, 2});
  require_gradchecks([](const std::vector<Tensor>& in) { return conv1d(in[0], in[1], Tensor(), {.padding = {1}}); },
                     {leaf({2, 6}), leaf({3, 2, 3})});
  require_gradchecks([](const std::vector<Tensor>& in) { return max_pool2d(in[0], {.kernel = {2}, .stride = {1}}); },
                     {leaf({2, 3, 3})});
  XGRAD_REQUIRE_THROWS_WITH(conv2d(randn({5, 6}), randn({3, 2, 3, 3})), ShapeError, "conv2d", "without the batch dim");
}

TEST_CASE("divisor_override and adaptive max pooling in 1-D and 3-D", "[pool][divisor_override][adaptive]") {
  const Tensor y = arange(1, 10, 1, {.dtype = f64}).reshape({1, 1, 3, 3});
  require_values(avg_pool2d(y, {.kernel = {2}, .stride = {1}, .divisor_override = 3}), {4, 16.0 / 3, 8, 28.0 / 3});
  const PoolWithIndices m = adaptive_max_pool1d_with_indices(f64_tensor({1, 5, 2, 4, 3}, {1, 1, 5}), {2});
  require_values(m.values, {5, 4});
  require_values(m.indices, {1, 3});
  manual_seed(6);
  require_gradchecks(
      [](const std::vector<Tensor>& in) { return avg_pool2d(in[0], {.kernel = {2}, .padding = {1}, .divisor_override = 5}); },
      {leaf({1, 2, 4, 5})});
  require_gradchecks([](const std::vector<Tensor>& in) { return adaptive_max_pool1d(in[0], {3}); }, {leaf({2, 2, 7})});
  require_gradchecks([](const std::vector<Tensor>& in) { return adaptive_max_pool3d(in[0], {2, 2, 1}); },
                     {leaf({1, 2, 3, 4, 3})});
  XGRAD_REQUIRE_THROWS_WITH(avg_pool2d(y, {.kernel = {2}, .divisor_override = 0}), ValueError, "avg_pool2d",
                            "divisor_override");
  XGRAD_REQUIRE_THROWS_WITH(adaptive_max_pool1d(randn({2}), {2}), ShapeError, "adaptive_max_pool1d");
}

TEST_CASE("max_unpool inverts max pooling with indices, lp_pool is PyTorch's", "[pool][unpool][lp_pool]") {
  const PoolWithIndices pooled = max_pool1d_with_indices(f64_tensor({1, 5, 2, 4, 3, 0}, {1, 1, 6}), {.kernel = {2}});
  require_values(max_unpool1d(pooled.values, pooled.indices, {.kernel = {2}}), {0, 5, 0, 4, 3, 0});
  require_values(lp_pool1d(f64_tensor({1, 2, 3, 4}, {1, 1, 4}), {.norm_type = 2, .kernel = {2}}),
                 {std::sqrt(5.0), 5.0}, 1e-12);
  manual_seed(8);
  const PoolWithIndices p2 = max_pool2d_with_indices(randn({2, 3, 6, 6}, {.dtype = f64}), {.kernel = {2}});
  require_gradchecks([&](const std::vector<Tensor>& in) { return max_unpool2d(in[0], p2.indices, {.kernel = {2}}); },
                     {leaf({2, 3, 3, 3})});
  require_gradchecks(
      [&](const std::vector<Tensor>& in) {
        return max_unpool2d(in[0], p2.indices, {.kernel = {2}, .output_size = {7, 6}});
      },
      {leaf({2, 3, 3, 3})});
  require_gradchecks([](const std::vector<Tensor>& in) { return lp_pool2d(abs(in[0]) + 0.5, {.norm_type = 3, .kernel = {2}}); },
                     {leaf({1, 2, 4, 5})});
  require_gradchecks(
      [](const std::vector<Tensor>& in) { return lp_pool1d(in[0], {.norm_type = 2, .kernel = {3}, .stride = {2}}); },
      {leaf({2, 7})});  // unbatched
  XGRAD_REQUIRE_THROWS_WITH(max_unpool2d(p2.values, p2.indices, {.kernel = {2}, .output_size = {9, 6}}), ValueError,
                            "max_unpool2d", "output_size");
  XGRAD_REQUIRE_THROWS_WITH(max_unpool2d(p2.values, full({2, 3, 3, 3}, 1000, {.dtype = i64}), {.kernel = {2}}), ValueError, "max_unpool2d",
                            "outside the output plane");
  XGRAD_REQUIRE_THROWS_WITH(max_unpool2d(p2.values, p2.values, {.kernel = {2}}), ShapeError, "max_unpool2d", "i64");
  XGRAD_REQUIRE_THROWS_WITH(lp_pool2d(randn({1, 1, 4, 4}), {.norm_type = 0, .kernel = {2}}), ValueError, "lp_pool2d",
                            "norm_type");
}
