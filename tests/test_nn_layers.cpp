// nn layers, nn::init, summary and to_string: parameter names and shapes as
// torch's, initial distributions against torch's formulas, forward against the
// functional ops, batch norm's modes and statistics, a gradcheck through a small
// network, the summary table and the module tree, and error messages.

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "xgrad/nn.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

std::vector<std::string> names(const nn::StateDict& d) {
  std::vector<std::string> out;
  for (const auto& [n, t] : d) out.push_back(n);
  return out;
}

std::vector<Shape> shapes(const nn::StateDict& d) {
  std::vector<Shape> out;
  for (const auto& [n, t] : d) out.push_back(t.shape());
  return out;
}

struct Moments {
  double mean, std, max_abs;
};

Moments moments(const Tensor& t) {
  const std::vector<double> v = values(t);
  double sum = 0, max_abs = 0;
  for (double x : v) {
    sum += x;
    max_abs = std::max(max_abs, std::abs(x));
  }
  const double mean = sum / static_cast<double>(v.size());
  double squares = 0;
  for (double x : v) squares += (x - mean) * (x - mean);
  return {mean, std::sqrt(squares / static_cast<double>(v.size() - 1)), max_abs};
}

// Every value within ±bound (f32 rounding allowed), the largest near it, and
// the sample std near that of U(-bound, bound).
void require_uniform(const Tensor& t, double bound) {
  const Moments m = moments(t);
  INFO("bound " << bound << ", max |value| " << m.max_abs << ", std " << m.std);
  REQUIRE(m.max_abs <= bound * (1 + 1e-6));
  REQUIRE(m.max_abs >= 0.95 * bound);
  if (t.numel() >= 10000) REQUIRE(m.std == Approx(bound / std::sqrt(3.0)).epsilon(0.02));
}

void require_normal(const Tensor& t, double mean, double stddev) {
  const Moments m = moments(t);
  REQUIRE(m.mean == Approx(mean).margin(0.02 * stddev));
  REQUIRE(m.std == Approx(stddev).epsilon(0.02));
}

// The test network of the gradcheck, summary and to_string tests.
std::shared_ptr<nn::Sequential> small_net() {
  return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(2, 3, Spatial{3}, Conv2dOptions{.padding = {1}}),
      std::make_shared<nn::BatchNorm2d>(3), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::MaxPool2d>(MaxPool2dOptions{.kernel = {2}}), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(12, 2)});
}

// The summary's table rows (between the two ruled lines).
std::vector<std::string> table_rows(const std::string& summary) {
  std::vector<std::string> rows;
  std::istringstream in(summary);
  int rules = 0;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.find_first_not_of('=') == std::string::npos) {
      ++rules;
    } else if (rules == 1) {
      rows.push_back(line);
    }
  }
  return rows;
}

void require_row(const std::vector<std::string>& rows, std::size_t index, const std::vector<std::string>& cells) {
  REQUIRE(index < rows.size());
  INFO("row: " << rows[index]);
  for (const std::string& cell : cells) REQUIRE(rows[index].find(cell) != std::string::npos);
}

}  // namespace

// ---- parameters and initialisation ---------------------------------------------------------

TEST_CASE("Linear has torch's parameters and initialisation", "[nn][linear][init]") {
  manual_seed(1);
  nn::Linear fc(64, 1000);
  CHECK(names(fc.named_parameters()) == std::vector<std::string>{"weight", "bias"});
  CHECK(shapes(fc.state_dict()) == std::vector<Shape>{{1000, 64}, {1000}});
  CHECK(fc.weight.requires_grad());
  CHECK(fc.type_name() == "Linear");
  require_uniform(fc.weight, 1.0 / 8.0);  // kaiming_uniform_(a = sqrt(5)): 1 / sqrt(fan_in)
  require_uniform(fc.bias, 1.0 / 8.0);

  nn::Linear no_bias(3, 2, /*bias=*/false);
  CHECK(names(no_bias.state_dict()) == std::vector<std::string>{"weight"});
  CHECK_FALSE(no_bias.bias.defined());
  CHECK(no_bias.extra_repr() == "in_features=3, out_features=2, bias=false");
  CHECK(fc.extra_repr() == "in_features=64, out_features=1000, bias=true");
}

TEST_CASE("convolution layers have torch's weight layouts and initialisation", "[nn][conv][init]") {
  manual_seed(2);
  nn::Conv2d conv(16, 32, {3});
  CHECK(shapes(conv.state_dict()) == std::vector<Shape>{{32, 16, 3, 3}, {32}});
  require_uniform(conv.weight, 1.0 / 12.0);  // fan_in = 16 * 3 * 3
  require_uniform(conv.bias, 1.0 / 12.0);

  nn::Conv2d grouped(8, 12, {3, 5}, {.groups = 4}, /*bias=*/false);
  CHECK(shapes(grouped.state_dict()) == std::vector<Shape>{{12, 2, 3, 5}});
  require_uniform(grouped.weight, 1.0 / std::sqrt(2.0 * 15.0));

  // Transposed: weight [in, out / groups, *k]; fan_in from size(1), as torch.
  nn::ConvTranspose2d up(32, 16, {3}, {.groups = 2});
  CHECK(shapes(up.state_dict()) == std::vector<Shape>{{32, 8, 3, 3}, {16}});
  require_uniform(up.weight, 1.0 / std::sqrt(72.0));
  require_uniform(up.bias, 1.0 / std::sqrt(72.0));

  CHECK(nn::Conv1d(2, 4, {5}).weight.shape() == Shape{4, 2, 5});
  CHECK(nn::Conv3d(2, 4, {1, 2, 3}).weight.shape() == Shape{4, 2, 1, 2, 3});
  CHECK(nn::ConvTranspose1d(2, 4, {5}).weight.shape() == Shape{2, 4, 5});
  CHECK(nn::ConvTranspose3d(6, 4, {2}, {.groups = 2}).weight.shape() == Shape{6, 2, 2, 2, 2});
  CHECK(conv.kernel_size == Spatial{3, 3});
  CHECK(conv.options.stride == Spatial{1, 1});
}

TEST_CASE("seeded models are reproducible", "[nn][init]") {
  auto draw = [](std::uint64_t seed) {
    manual_seed(seed);
    auto net = small_net();
    std::vector<double> all;
    for (const Tensor& p : net->parameters())
      for (double v : values(p)) all.push_back(v);
    return all;
  };
  CHECK(draw(5) == draw(5));
  CHECK(draw(5) != draw(6));
}

TEST_CASE("init computes torch's fans and gains", "[nn][init]") {
  const nn::init::Fans conv = nn::init::calculate_fan_in_and_fan_out(empty({16, 8, 3, 3}));
  CHECK(conv.fan_in == 72);
  CHECK(conv.fan_out == 144);
  const nn::init::Fans dense = nn::init::calculate_fan_in_and_fan_out(empty({5, 7}));
  CHECK(dense.fan_in == 7);
  CHECK(dense.fan_out == 5);

  CHECK(nn::init::calculate_gain("linear") == 1.0);
  CHECK(nn::init::calculate_gain("conv_transpose2d") == 1.0);
  CHECK(nn::init::calculate_gain("sigmoid") == 1.0);
  CHECK(nn::init::calculate_gain("tanh") == Approx(5.0 / 3.0));
  CHECK(nn::init::calculate_gain("relu") == Approx(std::sqrt(2.0)));
  CHECK(nn::init::calculate_gain("selu") == 0.75);
  CHECK(nn::init::calculate_gain("leaky_relu") == Approx(std::sqrt(2.0 / (1.0 + 0.01 * 0.01))));
  CHECK(nn::init::calculate_gain("leaky_relu", 0.2) == Approx(std::sqrt(2.0 / 1.04)));
  CHECK(nn::init::calculate_gain("leaky_relu", std::sqrt(5.0)) == Approx(std::sqrt(1.0 / 3.0)));
}

TEST_CASE("init draws the distributions of torch's formulas", "[nn][init]") {
  manual_seed(3);
  namespace init = nn::init;
  Tensor w = empty({64, 32, 3, 3});  // fan_in 288, fan_out 576
  init::kaiming_uniform_(w);         // leaky_relu, a = 0: gain sqrt(2)
  require_uniform(w, std::sqrt(2.0) * std::sqrt(3.0 / 288.0));
  init::kaiming_uniform_(w, 0.0, "fan_out", "relu");
  require_uniform(w, std::sqrt(2.0) * std::sqrt(3.0 / 576.0));
  init::kaiming_normal_(w, 0.0, "fan_out", "relu");  // torchvision's ResNet
  require_normal(w, 0.0, std::sqrt(2.0) / 24.0);
  init::kaiming_normal_(w, 0.1, "fan_in", "leaky_relu");
  require_normal(w, 0.0, std::sqrt(2.0 / 1.01) / std::sqrt(288.0));

  Tensor dense = empty({300, 200}, {.dtype = f64});
  init::xavier_uniform_(dense, 2.0);
  require_uniform(dense, 2.0 * std::sqrt(6.0 / 500.0));
  init::xavier_normal_(dense);
  require_normal(dense, 0.0, std::sqrt(2.0 / 500.0));
  init::uniform_(dense, -3.0, -1.0);
  const Moments u = moments(dense);
  CHECK(u.mean == Approx(-2.0).margin(0.01));
  CHECK(u.max_abs <= 3.0);
  init::normal_(dense, 3.0, 2.0);
  require_normal(dense, 3.0, 2.0);
  init::trunc_normal_(dense, 0.0, 1.0, -0.5, 0.5);
  CHECK(moments(dense).max_abs <= 0.5);
  CHECK(moments(dense).max_abs >= 0.49);

  init::constant_(dense, 0.25);
  require_values(dense.slice(0, 0, 1).slice(1, 0, 3), {0.25, 0.25, 0.25});
  init::zeros_(dense);
  CHECK(moments(dense).max_abs == 0.0);
  init::ones_(dense);
  CHECK(moments(dense).mean == 1.0);
}

TEST_CASE("init fills parameters and views in place", "[nn][init]") {
  manual_seed(4);
  nn::Linear fc(4, 3);
  const Tensor handle = fc.weight;
  nn::init::zeros_(fc.weight);  // a leaf that requires grad, outside any NoGradGuard
  CHECK(handle.is_same(fc.weight));
  require_values(fc.weight, std::vector<double>(12, 0.0));
  nn::init::ones_(fc.weight.t().slice(0, 1, 2));  // the second column
  require_values(fc.weight, {0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0});
  CHECK(fc.weight.requires_grad());
  CHECK(fc.weight.is_leaf());
}

TEST_CASE("init refuses bad names and tensors", "[nn][init][errors]") {
  namespace init = nn::init;
  XGRAD_REQUIRE_THROWS_WITH(init::calculate_gain("swish"), ValueError, "unsupported nonlinearity \"swish\"");
  XGRAD_REQUIRE_THROWS_WITH(init::kaiming_uniform_(empty({2, 2}), 0.0, "fan_avg"), ValueError, "kaiming_uniform_",
                            "fan_avg", "fan_in");
  XGRAD_REQUIRE_THROWS_WITH(init::kaiming_normal_(empty({2, 2}), 0.0, "fan_in", "swish"), ValueError, "swish");
  XGRAD_REQUIRE_THROWS_WITH(init::xavier_uniform_(empty({5})), ValueError, "fewer than 2 dims", "[5]");
  XGRAD_REQUIRE_THROWS_WITH(init::normal_(zeros({3}, {.dtype = i64})), DTypeError, "normal_", "i64");
  XGRAD_REQUIRE_THROWS_WITH(init::uniform_(empty({3}), 1.0, 0.0), ValueError, "low <= high");
  XGRAD_REQUIRE_THROWS_WITH(init::normal_(empty({3}), 0.0, -1.0), ValueError, "stddev >= 0");
  XGRAD_REQUIRE_THROWS_WITH(init::trunc_normal_(empty({3}), 0.0, 1.0, 10.0, 11.0), ValueError, "trunc_normal_",
                            "[10, 11]");
  XGRAD_REQUIRE_THROWS_WITH(init::trunc_normal_(empty({3}), 0.0, 1.0, 1.0, -1.0), ValueError, "a < b");
  init::kaiming_uniform_(empty({0, 3}));  // nothing to fill: a no-op, as torch
}

// ---- forward equals the functional op ---------------------------------------------------

TEST_CASE("layers compute their functional op", "[nn][forward]") {
  manual_seed(10);
  const Tensor x = randn({2, 4, 5, 5});

  nn::Conv2d conv(4, 6, {3}, {.stride = {2}, .padding = {1}, .groups = 2});
  require_values(conv(x), values(conv2d(x, conv.weight, conv.bias, {.stride = {2}, .padding = {1}, .groups = 2})),
                 1e-6);
  nn::Conv2d same(4, 4, {2, 3}, {.padding = "same", .dilation = {2}}, false);
  CHECK(same(x).shape() == x.shape());
  require_values(same(x), values(conv2d(x, same.weight, {}, {.padding = "same", .dilation = {2}})), 1e-6);
  nn::ConvTranspose2d up(4, 2, {3}, {.stride = {2}, .padding = {1}, .output_padding = {1}});
  require_values(up(x), values(conv_transpose2d(x, up.weight, up.bias,
                                                {.stride = {2}, .padding = {1}, .output_padding = {1}})),
                 1e-6);
  CHECK(up(x).shape() == Shape{2, 2, 10, 10});

  const Tensor seq = randn({2, 4, 7});
  nn::Conv1d conv1(4, 3, {3}, {.dilation = {2}});
  require_values(conv1(seq), values(conv1d(seq, conv1.weight, conv1.bias, {.dilation = {2}})), 1e-6);
  nn::ConvTranspose1d up1(4, 3, {2}, {.stride = {2}});
  require_values(up1(seq), values(conv_transpose1d(seq, up1.weight, up1.bias, {.stride = {2}})), 1e-6);
  const Tensor vol = randn({1, 2, 3, 4, 4});
  nn::Conv3d conv3(2, 2, {1, 3, 3}, {.padding = {0, 1, 1}});
  require_values(conv3(vol), values(conv3d(vol, conv3.weight, conv3.bias, {.padding = {0, 1, 1}})), 1e-6);
  nn::ConvTranspose3d up3(2, 2, {2});
  require_values(up3(vol), values(conv_transpose3d(vol, up3.weight, up3.bias)), 1e-6);

  nn::Linear fc(5, 3);
  require_values(fc(x), values(linear(x, fc.weight, fc.bias)), 1e-6);

  require_values(nn::MaxPool2d({.kernel = {3}, .stride = {2}, .padding = {1}})(x),
                 values(max_pool2d(x, {.kernel = {3}, .stride = {2}, .padding = {1}})));
  require_values(nn::MaxPool1d({.kernel = {2}})(seq), values(max_pool1d(seq, {.kernel = {2}})));
  require_values(nn::MaxPool3d({.kernel = {1, 2, 2}})(vol), values(max_pool3d(vol, {.kernel = {1, 2, 2}})));
  require_values(nn::AvgPool2d({.kernel = {2}, .ceil_mode = true, .count_include_pad = false})(x),
                 values(avg_pool2d(x, {.kernel = {2}, .ceil_mode = true, .count_include_pad = false})));
  require_values(nn::AvgPool1d({.kernel = {3}, .stride = {1}, .padding = {1}})(seq),
                 values(avg_pool1d(seq, {.kernel = {3}, .stride = {1}, .padding = {1}})));
  require_values(nn::AvgPool3d({.kernel = {2}, .stride = {1}})(vol),
                 values(avg_pool3d(vol, {.kernel = {2}, .stride = {1}})));
  require_values(nn::AdaptiveAvgPool2d({1})(x), values(adaptive_avg_pool2d(x, {1, 1})));
  require_values(nn::AdaptiveAvgPool1d({3})(seq), values(adaptive_avg_pool1d(seq, {3})));
  require_values(nn::AdaptiveAvgPool3d({1, 2, 2})(vol), values(adaptive_avg_pool3d(vol, {1, 2, 2})));
  require_values(nn::AdaptiveMaxPool2d({2, 3})(x), values(adaptive_max_pool2d(x, {2, 3})));

  require_values(nn::ReLU()(x), values(relu(x)));
  require_values(nn::LeakyReLU(0.2)(x), values(leaky_relu(x, 0.2)));
  require_values(nn::Sigmoid()(x), values(sigmoid(x)));
  require_values(nn::Tanh()(x), values(tanh(x)));
  require_values(nn::GELU()(x), values(gelu(x)));
  require_values(nn::GELU("tanh")(x), values(gelu(x, "tanh")));
  require_values(nn::Softmax(1)(x), values(softmax(x, 1)));
  require_values(nn::LogSoftmax(-1)(x), values(log_softmax(x, -1)));
  require_values(nn::LocalResponseNorm(3, 1e-2, 0.5, 2.0)(x),
                 values(local_response_norm(x, {.size = 3, .alpha = 1e-2, .beta = 0.5, .k = 2.0})));
  CHECK(nn::Identity()(x).is_same(x));
  CHECK(nn::Flatten()(x).shape() == Shape{2, 100});
  CHECK(nn::Flatten(1, 2)(x).shape() == Shape{2, 20, 5});
  CHECK(nn::Flatten(0, -2)(x).shape() == Shape{40, 5});
}

TEST_CASE("layers print their settings as PyTorch does", "[nn][repr]") {
  CHECK(nn::Conv2d(3, 64, {7}, {.stride = {2}, .padding = {3}}, false).extra_repr() ==
        "3, 64, kernel_size=[7, 7], stride=[2, 2], padding=[3, 3], bias=false");
  CHECK(nn::Conv2d(4, 4, {3}, {.padding = "same", .dilation = {2}, .groups = 4}).extra_repr() ==
        "4, 4, kernel_size=[3, 3], stride=[1, 1], padding=same, dilation=[2, 2], groups=4");
  CHECK(nn::Conv1d(2, 2, {3}, {.padding = Padding::asymmetric({0}, {2})}).extra_repr() ==
        "2, 2, kernel_size=[3], stride=[1], padding=(begin=[0], end=[2])");
  CHECK(nn::ConvTranspose2d(64, 32, {4}, {.stride = {2}, .padding = {1}, .output_padding = {1}}).extra_repr() ==
        "64, 32, kernel_size=[4, 4], stride=[2, 2], padding=[1, 1], output_padding=[1, 1]");
  CHECK(nn::MaxPool2d({.kernel = {3}, .stride = {2}}).extra_repr() ==
        "kernel_size=[3, 3], stride=[2, 2], padding=[0, 0], dilation=[1, 1], ceil_mode=false");
  CHECK(nn::AvgPool2d({.kernel = {2}, .ceil_mode = true, .count_include_pad = false}).extra_repr() ==
        "kernel_size=[2, 2], stride=[2, 2], padding=[0, 0], ceil_mode=true, count_include_pad=false");
  CHECK(nn::AdaptiveAvgPool2d({1}).extra_repr() == "output_size=[1, 1]");
  CHECK(nn::BatchNorm2d(64).extra_repr() == "64, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true");
  CHECK(nn::LocalResponseNorm(5, 1e-4, 0.75, 2.0).extra_repr() == "5, alpha=0.0001, beta=0.75, k=2");
  CHECK(nn::Dropout().extra_repr() == "p=0.5");
  CHECK(nn::LeakyReLU(0.2).extra_repr() == "negative_slope=0.2");
  CHECK(nn::GELU("tanh").extra_repr() == "approximate='tanh'");
  CHECK(nn::Softmax(1).extra_repr() == "dim=1");
  CHECK(nn::Flatten().extra_repr() == "start_dim=1, end_dim=-1");
  CHECK(nn::ReLU().extra_repr().empty());
  CHECK(nn::MaxPool3d({.kernel = {2}}).type_name() == "MaxPool3d");
  CHECK(nn::AdaptiveMaxPool2d({1}).type_name() == "AdaptiveMaxPool2d");
}

// ---- batch norm and dropout -------------------------------------------------------------

TEST_CASE("BatchNorm has torchvision's state and uses batch statistics in training", "[nn][batch_norm]") {
  nn::BatchNorm1d bn(2);
  CHECK(names(bn.state_dict()) ==
        std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"});
  CHECK(names(bn.named_parameters()) == std::vector<std::string>{"weight", "bias"});
  CHECK(bn.num_batches_tracked.dtype() == i64);
  CHECK(bn.num_batches_tracked.shape() == Shape{});
  require_values(bn.weight, {1, 1});
  require_values(bn.bias, {0, 0});
  require_values(bn.running_mean, {0, 0});
  require_values(bn.running_var, {1, 1});

  bn.to(f64);
  CHECK(bn.num_batches_tracked.dtype() == i64);
  {
    NoGradGuard no_grad;
    bn.weight.fill_(2.0);
    bn.bias.fill_(1.0);
  }
  // Channel 0: {1, 2, 3, 4}, mean 2.5, biased var 1.25, unbiased 5/3;
  // channel 1: {-1, 1, -1, 1}, mean 0, biased var 1, unbiased 4/3.
  const Tensor x = f64_tensor({1, -1, 2, 1, 3, -1, 4, 1}, {4, 2});
  const double eps = 1e-5, s0 = std::sqrt(1.25 + eps), s1 = std::sqrt(1.0 + eps);
  require_values(bn(x), {2 * (1 - 2.5) / s0 + 1, 2 * -1 / s1 + 1, 2 * (2 - 2.5) / s0 + 1, 2 * 1 / s1 + 1,
                         2 * (3 - 2.5) / s0 + 1, 2 * -1 / s1 + 1, 2 * (4 - 2.5) / s0 + 1, 2 * 1 / s1 + 1},
                 1e-12);
  require_values(bn.running_mean, {0.25, 0.0});
  require_values(bn.running_var, {0.9 + 0.1 * 5.0 / 3.0, 0.9 + 0.1 * 4.0 / 3.0});
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 1);
  bn(x);
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 2);
  require_values(bn.running_mean, {0.9 * 0.25 + 0.25, 0.0});

  // Evaluation: the running statistics, nothing updated.
  bn.eval();
  const std::vector<double> rm = values(bn.running_mean), rv = values(bn.running_var);
  const std::vector<double> y = values(bn(x));
  for (std::size_t i = 0; i < 8; ++i) {
    const std::size_t c = i % 2;
    CHECK(y[i] == Approx(2 * (values(x)[i] - rm[c]) / std::sqrt(rv[c] + eps) + 1).epsilon(1e-12));
  }
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 2);
  require_values(bn.running_mean, rm);

  // [N, C, L] works too.
  CHECK(bn(f64_tensor({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2})).shape() == Shape{2, 2, 2});
}

TEST_CASE("BatchNorm without running statistics or affine parameters", "[nn][batch_norm]") {
  manual_seed(11);
  nn::BatchNorm2d plain(3, 1e-5, 0.1, /*affine=*/false, /*track_running_stats=*/false);
  CHECK(plain.state_dict().empty());
  CHECK_FALSE(plain.running_mean.defined());
  const Tensor x = randn({2, 3, 2, 2});
  const std::vector<double> trained = values(plain(x));
  plain.eval();  // no running statistics: still the batch's, as torch
  require_values(plain(x), trained, 1e-6);
  require_values(plain(x).mean({0, 2, 3}), {0, 0, 0}, 1e-6);

  nn::BatchNorm3d stats_only(2, 1e-3, 0.5, /*affine=*/false);
  CHECK(names(stats_only.state_dict()) ==
        std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
  const Tensor v = randn({2, 2, 1, 2, 2});
  stats_only(v);
  require_values(stats_only.running_mean, values(v.mean({0, 2, 3, 4}) * 0.5), 1e-6);
  CHECK(stats_only.extra_repr() == "2, eps=0.001, momentum=0.5, affine=false, track_running_stats=true");
}

TEST_CASE("Dropout drops in training and is the identity in evaluation", "[nn][dropout]") {
  manual_seed(12);
  nn::Dropout drop(0.25);
  const Tensor x = ones({4000});
  const std::vector<double> y = values(drop(x));
  std::size_t zeros_seen = 0;
  for (double v : y) {
    REQUIRE((v == 0.0 || v == Approx(1.0 / 0.75)));
    zeros_seen += v == 0.0;
  }
  CHECK(static_cast<double>(zeros_seen) / 4000.0 == Approx(0.25).margin(0.03));
  drop.eval();
  CHECK(drop(x).is_same(x));
  drop.train();
  require_values(nn::Dropout(1.0)(x.slice(0, 0, 3)), {0, 0, 0});
}

// ---- a small network --------------------------------------------------------------------

TEST_CASE("gradcheck through Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten and Linear", "[nn][gradcheck]") {
  manual_seed(13);
  auto net = small_net();
  net->to(f64);
  const Tensor x = leaf({2, 2, 4, 4});
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : net->parameters()) inputs.push_back(p);
  CHECK(inputs.size() == 7);
  auto fn = [&](const std::vector<Tensor>& in) { return (*net)(in[0]); };
  require_gradcheck(fn, inputs);  // training: batch statistics
  net->eval();
  require_gradcheck(fn, inputs);  // evaluation: running statistics
}

TEST_CASE("summary tabulates shapes, parameters and MACs", "[nn][summary]") {
  manual_seed(14);
  auto net = small_net();
  auto bn = std::dynamic_pointer_cast<nn::BatchNorm2d>((*net)[1]);
  net->train();
  bn->eval();  // a mixed state, to be restored exactly
  const std::string s = nn::summary(*net, {2, 2, 4, 4});
  INFO(s);
  const std::vector<std::string> rows = table_rows(s);
  REQUIRE(rows.size() == 6);
  // Conv2d: 3*2*3*3 + 3 parameters; [2, 3, 4, 4] outputs of 2*3*3 MACs each.
  require_row(rows, 0, {"0 (Conv2d)", "[2, 3, 4, 4]", " 57 ", "1,728"});
  require_row(rows, 1, {"1 (BatchNorm2d)", "[2, 3, 4, 4]", " 6 "});
  require_row(rows, 3, {"3 (MaxPool2d)", "[2, 3, 2, 2]"});
  require_row(rows, 4, {"4 (Flatten)", "[2, 12]"});
  // Linear: 12*2 + 2 parameters; [2, 2] outputs of 12 MACs each.
  require_row(rows, 5, {"5 (Linear)", "[2, 2]", " 26 ", " 48"});
  CHECK(s.find("Total params: 89\n") != std::string::npos);
  CHECK(s.find("Trainable params: 89\n") != std::string::npos);
  CHECK(s.find("Non-trainable params: 0\n") != std::string::npos);
  CHECK(s.find("Total MACs: 1,776 (1.78 K)\n") != std::string::npos);
  CHECK(s.find("Input shape: [2, 2, 4, 4]\n") != std::string::npos);
  CHECK(s.find("Output shape: [2, 2]\n") != std::string::npos);
  CHECK(net->is_training());
  CHECK_FALSE(bn->is_training());
  CHECK(bn->num_batches_tracked.item<std::int64_t>() == 0);  // ran in evaluation

  bn->weight.requires_grad_(false);
  const std::string frozen = nn::summary(*net, {1, 2, 4, 4});
  CHECK(frozen.find("Trainable params: 86\n") != std::string::npos);
  CHECK(frozen.find("Non-trainable params: 3\n") != std::string::npos);
  CHECK(frozen.find("Total MACs: 888\n") != std::string::npos);
}

TEST_CASE("summary counts a shared module's parameters once and each of its calls", "[nn][summary]") {
  auto fc = std::make_shared<nn::Linear>(3, 3);
  nn::Sequential twice;
  twice.push_back(fc).push_back(fc);  // one module under two names
  const std::string s = nn::summary(twice, {1, 3});
  const std::vector<std::string> rows = table_rows(s);
  REQUIRE(rows.size() == 2);
  require_row(rows, 0, {"0 (Linear)", " 12 ", " 9"});
  require_row(rows, 1, {"0 (Linear)", " -- ", " 9"});
  CHECK(s.find("Total params: 12\n") != std::string::npos);
  CHECK(s.find("Total MACs: 18\n") != std::string::npos);

  nn::Linear alone(4, 2);  // a leaf at the root
  alone.to(f64);
  const std::vector<std::string> root = table_rows(nn::summary(alone, {3, 4}, f64));
  REQUIRE(root.size() == 1);
  require_row(root, 0, {"Linear", "[3, 2]", " 10 ", " 24"});
}

TEST_CASE("summary removes its hooks and restores modes when forward throws", "[nn][summary][errors]") {
  auto net = small_net();
  XGRAD_REQUIRE_THROWS_WITH(nn::summary(*net, {2, 5, 4, 4}), ShapeError, "conv2d", "5 channels");
  CHECK(net->is_training());
  CHECK((*net)[1]->is_training());
  CHECK(table_rows(nn::summary(*net, {1, 2, 4, 4})).size() == 6);  // no rows from stale hooks
  CHECK((*net)(zeros({1, 2, 4, 4})).shape() == Shape{1, 2});
}

TEST_CASE("to_string prints the module tree as PyTorch's repr", "[nn][repr]") {
  auto net = small_net();
  CHECK(nn::to_string(*net) ==
        "Sequential(\n"
        "  (0): Conv2d(2, 3, kernel_size=[3, 3], stride=[1, 1], padding=[1, 1])\n"
        "  (1): BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)\n"
        "  (2): ReLU()\n"
        "  (3): MaxPool2d(kernel_size=[2, 2], stride=[2, 2], padding=[0, 0], dilation=[1, 1], ceil_mode=false)\n"
        "  (4): Flatten(start_dim=1, end_dim=-1)\n"
        "  (5): Linear(in_features=12, out_features=2, bias=true)\n"
        ")");
  nn::Sequential outer;
  outer.push_back(std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.1)}));
  outer.push_back("head", std::make_shared<nn::Identity>());
  std::ostringstream printed;
  printed << outer;
  CHECK(printed.str() ==
        "Sequential(\n"
        "  (0): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.1)\n"
        "  )\n"
        "  (head): Identity()\n"
        ")");
  CHECK(nn::to_string(nn::Sequential()) == "Sequential()");
}

// ---- errors --------------------------------------------------------------------------------

TEST_CASE("layers refuse wrong input ranks with clear errors", "[nn][errors]") {
  const Tensor x3 = zeros({2, 3, 4});
  const Tensor x4 = zeros({2, 3, 4, 4});
  XGRAD_REQUIRE_THROWS_WITH(nn::BatchNorm2d(3)(x3), ShapeError, "BatchNorm2d", "4-D input [N, C, H, W]",
                            "[2, 3, 4]");
  XGRAD_REQUIRE_THROWS_WITH(nn::BatchNorm1d(3)(x4), ShapeError, "BatchNorm1d", "2-D or 3-D", "[N, C] or [N, C, L]",
                            "[2, 3, 4, 4]");
  XGRAD_REQUIRE_THROWS_WITH(nn::BatchNorm3d(3)(x4), ShapeError, "BatchNorm3d", "5-D");
  XGRAD_REQUIRE_THROWS_WITH(nn::BatchNorm2d(4)(x4), ShapeError, "BatchNorm2d", "expected 4 channels",
                            "[2, 3, 4, 4]");
  const Tensor x2 = zeros({3, 4});  // 3-D inputs are unbatched images, 2-D ones nothing
  XGRAD_REQUIRE_THROWS_WITH(nn::Conv2d(3, 2, {3})(x2), ShapeError, "conv2d", "4-D", "[3, 4]");
  XGRAD_REQUIRE_THROWS_WITH(nn::Conv1d(3, 2, {3})(x4), ShapeError, "conv1d", "3-D");
  XGRAD_REQUIRE_THROWS_WITH(nn::ConvTranspose2d(3, 2, {3})(x2), ShapeError, "conv_transpose2d", "4-D");
  XGRAD_REQUIRE_THROWS_WITH(nn::MaxPool2d({.kernel = {2}})(x2), ShapeError, "max_pool2d", "4-D");
  XGRAD_REQUIRE_THROWS_WITH(nn::AvgPool1d({.kernel = {2}})(x4), ShapeError, "avg_pool1d", "3-D");
  XGRAD_REQUIRE_THROWS_WITH(nn::AdaptiveAvgPool3d({1})(x3), ShapeError, "adaptive_avg_pool3d", "5-D");
  XGRAD_REQUIRE_THROWS_WITH(nn::Conv2d(4, 2, {3})(x4), ShapeError, "3 channels", "expects 4");
  XGRAD_REQUIRE_THROWS_WITH(nn::Linear(5, 2)(x4), ShapeError, "linear");
}

TEST_CASE("layers refuse bad settings when built", "[nn][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(nn::Conv2d(3, 4, {3}, {.groups = 2}), ValueError, "Conv2d",
                            "in_channels (3) must be divisible by groups (2)");
  XGRAD_REQUIRE_THROWS_WITH(nn::Conv2d(4, 3, {3}, {.groups = 2}), ValueError,
                            "out_channels (3) must be divisible by groups (2)");
  XGRAD_REQUIRE_THROWS_WITH(nn::ConvTranspose1d(3, 4, {3}, {.groups = 3}), ValueError, "ConvTranspose1d",
                            "out_channels (4) must be divisible by groups (3)");
  XGRAD_REQUIRE_THROWS_WITH(nn::Conv3d(2, 2, {3}, {.groups = 0}), ValueError, "groups must be a positive integer");
  XGRAD_REQUIRE_THROWS_WITH(nn::Conv2d(2, 2, {3}, {.stride = {1, 2, 3}}), ValueError, "Conv2d", "stride",
                            "give 1 or 2");
  XGRAD_REQUIRE_THROWS_WITH(nn::Conv2d(2, 2, {3, 0}), ValueError, "kernel_size must be >= 1");
  XGRAD_REQUIRE_THROWS_WITH(nn::Conv2d(2, 2, {3}, {.stride = {2}, .padding = "same"}), ValueError, "Conv2d",
                            "\"same\" needs stride 1");
  XGRAD_REQUIRE_THROWS_WITH(nn::ConvTranspose2d(2, 2, {3}, {.stride = {2}, .output_padding = {2}}), ValueError,
                            "ConvTranspose2d", "output_padding [2, 2]");
  XGRAD_REQUIRE_THROWS_WITH(nn::MaxPool2d({}), ValueError, "MaxPool2d", "kernel size is required");
  XGRAD_REQUIRE_THROWS_WITH(nn::AvgPool3d({.kernel = {2, 2}}), ValueError, "AvgPool3d", "kernel");
  XGRAD_REQUIRE_THROWS_WITH(nn::AdaptiveAvgPool2d({0}), ValueError, "AdaptiveAvgPool2d", "output_size");
  XGRAD_REQUIRE_THROWS_WITH(nn::BatchNorm2d(0), ValueError, "BatchNorm2d", "num_features");
  XGRAD_REQUIRE_THROWS_WITH(nn::Linear(-1, 2), ValueError, "Linear", "in_features must be >= 0");
  XGRAD_REQUIRE_THROWS_WITH(nn::Dropout(1.5), ValueError, "Dropout", "[0, 1]", "1.5");
  XGRAD_REQUIRE_THROWS_WITH(nn::GELU("fast"), ValueError, "GELU", "\"fast\"");
  XGRAD_REQUIRE_THROWS_WITH(nn::LocalResponseNorm(0), ValueError, "LocalResponseNorm", "size");
}

TEST_CASE("ReLU(inplace) overwrites its input only when nothing records or replays it", "[nn][activation]") {
  nn::ReLU in_place(true);
  CHECK(in_place.extra_repr() == "inplace=True");
  {
    NoGradGuard no_grad;
    const Tensor x = f64_tensor({-1, 2, -3, 4});
    const Tensor y = in_place(x);
    CHECK(y.shares_storage(x));
    require_values(x, {0, 2, 0, 4});
    // An input that requires grad is left alone even without grad mode (a checkpoint may replay from it).
    const Tensor w = f64_tensor({-1, 2}, {}, true);
    const Tensor z = in_place(w);
    CHECK_FALSE(z.shares_storage(w));
    require_values(w, {-1, 2});
  }
  // Recording a graph: out of place, and the gradient is relu's.
  const Tensor w = f64_tensor({-1, 2}, {}, true);
  const Tensor a = w * 1.0;
  const Tensor y = in_place(a);
  CHECK_FALSE(y.shares_storage(a));
  y.sum().backward();
  require_values(w.grad(), {0, 1});
  CHECK_THROWS_AS(relu_(a), AutogradError);
}

TEST_CASE("the activation layers of #16 apply their functional ops and print as PyTorch's", "[nn][activation]") {
  manual_seed(16);
  const Tensor x = randn({2, 3, 4}, {.dtype = f64}) * 3.0;
  require_values(nn::ELU()(x), values(elu(x)));
  require_values(nn::ELU(0.5)(x), values(elu(x, 0.5)));
  require_values(nn::SELU()(x), values(selu(x)));
  require_values(nn::CELU(2.0)(x), values(celu(x, 2.0)));
  require_values(nn::SiLU()(x), values(silu(x)));
  require_values(nn::Hardswish()(x), values(hardswish(x)));
  require_values(nn::Hardsigmoid()(x), values(hardsigmoid(x)));
  require_values(nn::Mish()(x), values(mish(x)));
  require_values(nn::Softplus()(x), values(softplus(x)));
  require_values(nn::Softplus(2.0, 5.0)(x), values(softplus(x, 2.0, 5.0)));
  require_values(nn::ReLU6()(x), values(relu6(x)));
  require_values(nn::Hardtanh(-2.0, 3.0)(x), values(hardtanh(x, -2.0, 3.0)));
  require_values(nn::LogSigmoid()(x), values(log_sigmoid(x)));

  // The strings of PyTorch 1.13's repr() of each (printed with /usr/bin/python3).
  CHECK(nn::to_string(nn::ELU()) == "ELU(alpha=1.0)");
  CHECK(nn::to_string(nn::ELU(0.5)) == "ELU(alpha=0.5)");
  CHECK(nn::to_string(nn::SELU()) == "SELU()");
  CHECK(nn::to_string(nn::CELU()) == "CELU(alpha=1.0)");
  CHECK(nn::to_string(nn::SiLU()) == "SiLU()");
  CHECK(nn::to_string(nn::Hardswish()) == "Hardswish()");
  CHECK(nn::to_string(nn::Hardsigmoid()) == "Hardsigmoid()");
  CHECK(nn::to_string(nn::Mish()) == "Mish()");
  CHECK(nn::to_string(nn::Softplus()) == "Softplus(beta=1, threshold=20)");
  CHECK(nn::to_string(nn::Softplus(0.5, 10.0)) == "Softplus(beta=0.5, threshold=10)");  // PyTorch: threshold=10.0
  CHECK(nn::to_string(nn::ReLU6()) == "ReLU6()");
  CHECK(nn::to_string(nn::Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)");
  CHECK(nn::to_string(nn::Hardtanh(-2, 1e-5)) == "Hardtanh(min_val=-2.0, max_val=1e-05)");
  CHECK(nn::to_string(nn::LogSigmoid()) == "LogSigmoid()");
  CHECK(nn::to_string(nn::PReLU()) == "PReLU(num_parameters=1)");
  CHECK(nn::to_string(nn::PReLU(3, 0.1)) == "PReLU(num_parameters=3)");

  XGRAD_REQUIRE_THROWS_WITH(nn::CELU(0.0), ValueError, "CELU", "alpha cannot be 0");
  XGRAD_REQUIRE_THROWS_WITH(nn::Hardtanh(1.0, -1.0), ValueError, "Hardtanh", "min_val 1 must be below max_val -1");
  XGRAD_REQUIRE_THROWS_WITH(nn::Hardtanh(0.5, 0.5), ValueError, "Hardtanh", "min_val 0.5");
  XGRAD_REQUIRE_THROWS_WITH(nn::PReLU(0), ValueError, "PReLU", "num_parameters must be >= 1, got 0");
}

TEST_CASE("PReLU learns its registered weight, one or one per channel", "[nn][activation][prelu]") {
  nn::PReLU shared;
  CHECK(names(shared.state_dict()) == std::vector<std::string>{"weight"});
  CHECK(shapes(shared.state_dict()) == std::vector<Shape>{{1}});
  CHECK(shared.parameters().size() == 1);
  CHECK(shared.weight.requires_grad());
  require_values(shared.weight, {0.25});

  nn::PReLU per_channel(3, 0.1);
  CHECK(shapes(per_channel.state_dict()) == std::vector<Shape>{{3}});
  require_values(per_channel.weight, {0.1, 0.1, 0.1}, 1e-7);
  const Tensor x = from_vector(std::vector<float>{-1, 2, -3, 4, -5, 6}, {1, 3, 2});
  require_values(per_channel(x), {-0.1, 2, -0.3, 4, -0.5, 6}, 1e-6);
  require_values(shared(x), {-0.25, 2, -0.75, 4, -1.25, 6}, 1e-6);

  // The weight's gradient sums x over its channel where x <= 0; one SGD step moves it.
  per_channel(x).sum().backward();
  require_values(per_channel.weight.grad(), {-1, -3, -5}, 1e-6);
  {
    NoGradGuard no_grad;
    per_channel.weight.add_(per_channel.weight.grad(), -0.1);
  }
  require_values(per_channel.weight, {0.2, 0.4, 0.6}, 1e-6);
  per_channel.reset_parameters();
  require_values(per_channel.weight, {0.1, 0.1, 0.1}, 1e-6);

  // A weight of 3 slopes on an input of 4 channels names both.
  XGRAD_REQUIRE_THROWS_WITH(per_channel(zeros({2, 4})), ShapeError, "prelu", "weight has 3 elements", "4 channel");

  // gradcheck through the module in float64, both x and the weight.
  nn::PReLU f64_layer(3);
  f64_layer.to(f64);
  require_gradcheck(
      [&](const std::vector<Tensor>& in) { return f64_layer(in[0]); },
      {from_vector(std::vector<double>{-1.5, 0.7, -0.3, 2.0, -2.2, 1.1}, {2, 3}, {.dtype = f64, .requires_grad = true})});
}
