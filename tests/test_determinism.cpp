// Run-to-run determinism, and inference from several threads at once.

#include <cstring>
#include <thread>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

// Two SGD steps of a CIFAR ResNet-20 (batch 8) from seed 11; the bits of every parameter after them.
std::vector<std::vector<float>> two_resnet20_steps() {
  manual_seed(11);
  auto net = models::resnet20();
  optim::SGD opt(net->parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
  const Tensor images = randn({8, 3, 32, 32});
  const Tensor labels = from_vector(std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  for (int step = 0; step < 2; ++step) {
    opt.zero_grad();
    cross_entropy(net->forward(images), labels).backward();
    opt.step();
  }
  std::vector<std::vector<float>> bits;
  for (const Tensor& p : net->parameters()) bits.push_back(p.to_vector<float>());
  return bits;
}

}  // namespace

TEST_CASE("two ResNet-20 training steps give the same bits twice", "[determinism]") {
  const auto first = two_resnet20_steps();
  const auto second = two_resnet20_steps();
  REQUIRE(first.size() == second.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    INFO("parameter " << i);
    REQUIRE(std::memcmp(first[i].data(), second[i].data(), first[i].size() * sizeof(float)) == 0);
  }
}

TEST_CASE("inference on one model from four threads at once gives the serial results", "[determinism][threads]") {
  manual_seed(5);
  auto net = models::resnet20();
  net->eval();
  std::vector<Tensor> inputs;
  for (int i = 0; i < 4; ++i) inputs.push_back(randn({2, 3, 32, 32}));
  std::vector<std::vector<float>> serial;
  {
    NoGradGuard no_grad;
    for (const Tensor& x : inputs) serial.push_back(net->forward(x).to_vector<float>());
  }
  std::vector<std::vector<float>> parallel(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      NoGradGuard no_grad;  // grad mode is per thread
      for (int repeat = 0; repeat < 3; ++repeat) parallel[t] = net->forward(inputs[t]).to_vector<float>();
    });
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 4; ++t) CHECK(parallel[t] == serial[t]);
}

TEST_CASE("training in one thread while another runs inference on a copy", "[determinism][threads]") {
  manual_seed(6);
  auto trained = models::resnet20();
  auto copy = models::resnet20();
  copy->load_state_dict(trained->state_dict());
  copy->eval();
  const Tensor x = randn({2, 3, 32, 32});
  std::vector<float> expected;
  {
    NoGradGuard no_grad;
    expected = copy->forward(x).to_vector<float>();
  }
  const Tensor images = randn({4, 3, 32, 32});
  const Tensor labels = from_vector(std::vector<std::int64_t>{0, 1, 2, 3});
  std::thread trainer([&] {
    optim::SGD opt(trained->parameters(), {.lr = 0.05});
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      cross_entropy(trained->forward(images), labels).backward();
      opt.step();
    }
  });
  std::vector<std::vector<float>> seen;
  std::thread reader([&] {
    NoGradGuard no_grad;
    for (int i = 0; i < 3; ++i) seen.push_back(copy->forward(x).to_vector<float>());
  });
  trainer.join();
  reader.join();
  for (const auto& out : seen) CHECK(out == expected);
  CHECK(trained->parameters()[0].to_vector<float>() != copy->parameters()[0].to_vector<float>());
}

namespace {
struct DeterministicGuard {
  bool saved = are_deterministic_algorithms_enabled();
  DeterministicGuard() { use_deterministic_algorithms(true); }
  ~DeterministicGuard() { use_deterministic_algorithms(saved); }
};

// The gradients of a convolution's input and weight, as bits.
std::vector<std::vector<float>> conv_gradients(const Shape& x_shape, const Shape& w_shape, ConvOptions options) {
  manual_seed(3);
  const Tensor x = randn(x_shape, {.requires_grad = true});
  const Tensor w = randn(w_shape, {.requires_grad = true});
  const Tensor y = x_shape.size() == 5 ? conv3d(x, w, Tensor(), options) : conv2d(x, w, Tensor(), options);
  (y * randn(y.shape())).sum().backward();
  return {x.grad().to_vector<float>(), w.grad().to_vector<float>()};
}
}  // namespace

TEST_CASE("deterministic algorithms give the same bits at 1, 2 and 3 threads", "[determinism][threads]") {
  ThreadCountGuard threads;
  DeterministicGuard deterministic;
  const auto at = [](int n, auto run) {
    set_num_threads(n);
    return run();
  };
  const auto resnet = at(1, two_resnet20_steps);
  CHECK(at(2, two_resnet20_steps) == resnet);
  CHECK(at(3, two_resnet20_steps) == resnet);
  // Every weight-gradient path: im2col, implicit GEMM, Winograd, grouped, 3-D, strided.
  const std::vector<std::tuple<Shape, Shape, ConvOptions>> layers{
      {{16, 32, 14, 14}, {64, 32, 3, 3}, {.padding = {1}}},             // Winograd
      {{8, 16, 32, 32}, {16, 16, 3, 3}, {.padding = {1}}},              // implicit GEMM
      {{8, 3, 33, 33}, {16, 3, 5, 5}, {.stride = {2}, .padding = {2}}},  // im2col
      {{4, 8, 9, 9}, {8, 2, 3, 3}, {.groups = 4}},
      {{2, 4, 5, 6, 7}, {6, 4, 3, 3, 3}, {.padding = {1}}},
  };
  for (const auto& [x, w, options] : layers) {
    INFO("input " << shape_to_string(x) << ", weight " << shape_to_string(w));
    const auto one = at(1, [&] { return conv_gradients(x, w, options); });
    CHECK(at(2, [&] { return conv_gradients(x, w, options); }) == one);
    CHECK(at(3, [&] { return conv_gradients(x, w, options); }) == one);
  }
}

// Not run by default: which parameters differ between 1 and 2 threads.
TEST_CASE("ResNet-20 steps at 1 and 2 threads", "[.threads-bits]") {
  ThreadCountGuard saved;
  set_num_threads(1);
  const auto one = two_resnet20_steps();
  set_num_threads(2);
  const auto two = two_resnet20_steps();
  int differ = 0;
  for (std::size_t i = 0; i < one.size(); ++i)
    if (std::memcmp(one[i].data(), two[i].data(), one[i].size() * sizeof(float)) != 0) {
      ++differ;
      WARN("parameter " << i << " (" << one[i].size() << " values) differs");
    }
  WARN(differ << " of " << one.size() << " parameters differ");
}
