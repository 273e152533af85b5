// Three things a first-order tape cannot do, each checked as it runs:
//
//  1. A Hessian-vector product of LeNet-5's loss on a Fashion-MNIST batch (double
//     backward through conv, pooling, activations and cross-entropy), against
//     central differences of the gradient: (g(w + eps v) - g(w - eps v)) / 2 eps.
//  2. A WGAN-GP-style gradient penalty, (||d critic / d x|| - 1)^2 at points
//     between real and fake images, trained for a few steps: the penalty's
//     gradient in the critic's weights goes through the critic's backward.
//  3. A jvp through a conv net in forward mode (dual numbers), against central
//     differences of the net along the tangent.
//
//   ./build/examples/higher_order [--steps N] [--data DIR]

#include <cmath>
#include <iostream>
#include <string>

#include <xgrad/xgrad.hpp>

#include "cli.hpp"

using xgrad::Tensor;
namespace ag = xgrad::autograd;
namespace nn = xgrad::nn;

namespace {

struct Args {
  int steps = 5;
  std::string data = xgrad::data::FashionMNIST::default_root;
};

Args parse(int argc, char** argv) {
  Args args;
  cli::App app{"A Hessian-vector product, a WGAN-GP gradient penalty and a forward-mode jvp, each checked."};
  app.add_option("--steps", args.steps, "WGAN-GP critic steps")->check(cli::positive);
  app.add_option("--data", args.data, "Fashion-MNIST folder")->check(CLI::ExistingDirectory);
  cli::parse_or_exit(app, argc, argv);
  return args;
}

double largest_relative_difference(const Tensor& a, const Tensor& b) {
  return ((a - b).abs().max() / (b.abs().max() + 1e-12)).item();
}

// 1. H v of the loss in the weights, by double backward and by differences of gradients.
bool hessian_vector_product(const Tensor& images, const Tensor& labels) {
  xgrad::manual_seed(1);
  auto net = xgrad::models::lenet5();
  net->to(xgrad::f64);
  net->eval();
  const Tensor x = images.to(xgrad::f64);
  std::vector<Tensor> weights = net->parameters();  // handles: add_ moves the parameters themselves
  std::vector<Tensor> v;
  for (const Tensor& w : weights) v.push_back(xgrad::randn(w.shape(), {.dtype = xgrad::f64}));
  const auto gradients = [&](bool create_graph) {
    return ag::grad({xgrad::cross_entropy(net->forward(x), labels)}, weights, {}, {.create_graph = create_graph});
  };
  // Double backward: d/dw <g(w), v>.
  const std::vector<Tensor> g = gradients(true);
  Tensor pairing = xgrad::zeros({}, {.dtype = xgrad::f64});
  for (std::size_t i = 0; i < g.size(); ++i) pairing = pairing + (g[i] * v[i]).sum();
  const std::vector<Tensor> hv = ag::grad({pairing}, weights);
  // Central differences of the gradient along v.
  const double eps = 1e-5;
  const auto shifted = [&](double step) {
    {
      xgrad::NoGradGuard no_grad;
      for (std::size_t i = 0; i < weights.size(); ++i) weights[i].add_(v[i], step);
    }
    std::vector<Tensor> out = gradients(false);
    {
      xgrad::NoGradGuard no_grad;
      for (std::size_t i = 0; i < weights.size(); ++i) weights[i].add_(v[i], -step);
    }
    return out;
  };
  const std::vector<Tensor> plus = shifted(eps), minus = shifted(-eps);
  double worst = 0;
  for (std::size_t i = 0; i < weights.size(); ++i)
    worst = std::max(worst, largest_relative_difference(hv[i], (plus[i] - minus[i]) / (2 * eps)));
  std::cout << "1. Hessian-vector product of LeNet-5's loss (" << weights.size() << " weight tensors, batch "
            << x.size(0) << "): largest relative difference from finite differences " << worst << "\n";
  return worst < 1e-5;
}

std::shared_ptr<nn::Sequential> critic() {
  return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(1, 8, xgrad::Spatial{4}, xgrad::Conv2dOptions{.stride = {2}, .padding = {1}}),
      std::make_shared<nn::LeakyReLU>(0.2),
      std::make_shared<nn::Conv2d>(8, 16, xgrad::Spatial{4}, xgrad::Conv2dOptions{.stride = {2}, .padding = {1}}),
      std::make_shared<nn::LeakyReLU>(0.2), std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(16 * 7 * 7, 1)});
}

// 2. A few critic steps of WGAN-GP: loss = D(fake) - D(real) + 10 (||grad_x D(x_hat)|| - 1)^2.
bool gradient_penalty(const Tensor& real, int steps) {
  xgrad::manual_seed(2);
  auto d = critic();
  xgrad::optim::Adam opt(d->parameters(), {.lr = 1e-3});
  bool finite = true;
  double first_penalty = 0, last_penalty = 0;
  for (int step = 0; step < steps; ++step) {
    const Tensor fake = xgrad::rand(real.shape());  // a stand-in generator: uniform noise
    const Tensor t = xgrad::rand({real.size(0), 1, 1, 1});
    const Tensor mixed = (real * t + fake * (1.0 - t)).detach().requires_grad_();
    const Tensor score = d->forward(mixed);
    const Tensor grad_x = ag::grad({score.sum()}, {mixed}, {}, {.create_graph = true})[0];
    const Tensor norms = ((grad_x * grad_x).sum({1, 2, 3}) + 1e-12).sqrt();
    const Tensor penalty = ((norms - 1.0) * (norms - 1.0)).mean();
    const Tensor loss = d->forward(fake).mean() - d->forward(real).mean() + penalty * 10.0;
    opt.zero_grad();
    loss.backward();  // through the critic's backward: a second derivative
    double weight_grad = 0;
    for (const Tensor& p : d->parameters()) weight_grad += (p.grad() * p.grad()).sum().item();
    opt.step();
    finite = finite && std::isfinite(loss.item()) && std::isfinite(weight_grad);
    if (step == 0) first_penalty = penalty.item();
    last_penalty = penalty.item();
    std::cout << "2. WGAN-GP step " << step + 1 << ": loss " << loss.item() << ", penalty " << penalty.item()
              << ", |d loss / d weights| " << std::sqrt(weight_grad) << "\n";
  }
  std::cout << "   penalty " << first_penalty << " -> " << last_penalty << "\n";
  return finite;
}

// 3. J u of a small conv net in forward mode, against central differences.
bool forward_mode(const Tensor& images) {
  xgrad::manual_seed(3);
  auto net = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(1, 4, xgrad::Spatial{3}, xgrad::Conv2dOptions{.padding = {1}}),
      std::make_shared<nn::Tanh>(), std::make_shared<nn::MaxPool2d>(xgrad::MaxPool2dOptions{.kernel = {2}}),
      std::make_shared<nn::Conv2d>(4, 4, xgrad::Spatial{3}), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::AdaptiveAvgPool2d>(xgrad::Spatial{2, 2}), std::make_shared<nn::Flatten>()});
  net->to(xgrad::f64);
  // A little noise: the images' flat background would put ties into max
  // pooling, where the net has no derivative and differences mean nothing.
  const Tensor x = images.to(xgrad::f64) + xgrad::randn(images.shape(), {.dtype = xgrad::f64}) * 0.01;
  const Tensor u = xgrad::randn(x.shape(), {.dtype = xgrad::f64});
  Tensor tangent;
  {
    ag::forward_ad::DualLevel level;
    xgrad::NoGradGuard no_grad;  // forward mode needs no tape
    tangent = ag::forward_ad::unpack_dual(net->forward(ag::forward_ad::make_dual(x, u))).tangent;
  }
  const double eps = 1e-6;
  Tensor numeric;
  {
    xgrad::NoGradGuard no_grad;
    numeric = (net->forward(x + u * eps) - net->forward(x - u * eps)) / (2 * eps);
  }
  const double difference = largest_relative_difference(tangent, numeric);
  std::cout << "3. jvp through a conv net (" << x.numel() << " inputs -> " << tangent.numel()
            << " outputs): largest relative difference from finite differences " << difference << "\n";
  return difference < 1e-6;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  const xgrad::data::FashionMNIST train(args.data, true);
  const Tensor images = train.images().narrow(0, 0, 16), labels = train.labels().narrow(0, 0, 16);
  const bool hvp = hessian_vector_product(images.narrow(0, 0, 8), labels.narrow(0, 0, 8));
  const bool wgan = gradient_penalty(images, args.steps);
  const bool jvp = forward_mode(images.narrow(0, 0, 4));
  std::cout << (hvp && wgan && jvp ? "all three agree\n" : "MISMATCH\n");
  return hvp && wgan && jvp ? 0 : 1;
}
