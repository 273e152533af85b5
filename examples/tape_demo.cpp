// The tape at work: a two-layer network learns y = sin(x) on [-3, 3] by plain
// gradient descent, written out by hand (optimisers come with the nn module).
//
//   ./build/examples/tape_demo [steps]

#include <cmath>
#include <iostream>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "cli.hpp"

using xgrad::Tensor;

int main(int argc, char** argv) {
  int steps = 3000;
  cli::App app{"A two-layer network learns sin(x) by hand-written gradient descent on the tape."};
  app.add_option("steps,--steps", steps, "gradient-descent steps")->check(cli::non_negative);
  cli::parse_or_exit(app, argc, argv);
  xgrad::manual_seed(0);

  // 64 points in [-3, 3): inputs [64, 1], targets sin(x).
  std::vector<float> xs, ys;
  for (int i = 0; i < 64; ++i) {
    xs.push_back(-3.0f + 6.0f * static_cast<float>(i) / 64.0f);
    ys.push_back(std::sin(xs.back()));
  }
  const Tensor x = xgrad::from_vector(xs, {64, 1});
  const Tensor y = xgrad::from_vector(ys, {64, 1});

  // 1 -> 32 -> 1 with tanh; weights scaled as PyTorch's default init would.
  Tensor w1 = (xgrad::randn({32, 1}) * 1.0).requires_grad_();
  Tensor b1 = xgrad::zeros({32}, {.requires_grad = true});
  Tensor w2 = (xgrad::randn({1, 32}) * (1.0 / std::sqrt(32.0))).requires_grad_();
  Tensor b2 = xgrad::zeros({1}, {.requires_grad = true});
  std::vector<Tensor> params{w1, b1, w2, b2};

  const double lr = 0.05;
  for (int step = 0; step <= steps; ++step) {
    Tensor hidden = xgrad::tanh(xgrad::linear(x, w1, b1));
    Tensor loss = xgrad::mse_loss(xgrad::linear(hidden, w2, b2), y);
    for (Tensor& p : params) p.set_grad(Tensor());
    loss.backward();
    {
      xgrad::NoGradGuard no_grad;  // the update itself is not part of the graph
      for (Tensor& p : params) p.add_(p.grad(), -lr);
    }
    if (step % (steps / 10 > 0 ? steps / 10 : 1) == 0)
      std::cout << "step " << step << "  mse " << loss.item() << "\n";
  }

  xgrad::NoGradGuard no_grad;
  const Tensor probe = xgrad::from_vector(std::vector<float>{-2.0f, 0.0f, 1.5f}, {3, 1});
  const Tensor pred = xgrad::linear(xgrad::tanh(xgrad::linear(probe, w1, b1)), w2, b2);
  std::cout << "sin(-2), sin(0), sin(1.5) = " << std::sin(-2.0) << ", 0, " << std::sin(1.5) << "\n"
            << "network predicts          " << pred.reshape({3}) << "\n";
  return 0;
}
