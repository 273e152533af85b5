// A user-defined differentiable op, the LibTorch way, checked with gradcheck
// and gradgradcheck.
//
// Swish(x) = x * sigmoid(x) is written as an autograd::Function with its own
// backward (in xgrad ops, on the saved input, so that it is differentiable
// again) and jvp (forward mode); gradcheck compares the backward and the jvp
// with central differences in float64, gradgradcheck the backward's own
// derivative. A second version with a deliberately wrong backward shows what a
// failing report looks like.
//
//   ./build/examples/custom_op

#include <iostream>

#include <xgrad/xgrad.hpp>

#include "cli.hpp"

using xgrad::Tensor;
using xgrad::autograd::Context;

struct Swish : xgrad::autograd::Function<Swish> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * xgrad::sigmoid(x);
  }
  // d/dx [x s(x)] = s + x s (1 - s), with s recomputed from x: a sigmoid saved
  // from forward would be a constant to the second derivative.
  static Tensor slope(const Tensor& x) {
    const Tensor s = xgrad::sigmoid(x);
    return s + x * s * (1.0 - s);
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grad_outputs) {
    return {grad_outputs[0] * slope(ctx.saved_tensors()[0])};
  }
  static std::vector<Tensor> jvp(Context& ctx, const std::vector<Tensor>& tangents) {
    return {tangents[0] * slope(ctx.saved_tensors()[0])};
  }
};

// The same forward, but the backward forgets the x s (1 - s) term.
struct BrokenSwish : xgrad::autograd::Function<BrokenSwish> {
  static Tensor forward(Context& ctx, const Tensor& x) {
    Tensor s = xgrad::sigmoid(x);
    ctx.save_for_backward({s});
    return x * s;
  }
  static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grad_outputs) {
    return {grad_outputs[0] * ctx.saved_tensors()[0]};
  }
};

int main(int argc, char** argv) {
  cli::App app{"A user-defined Swish op (backward and jvp) checked by gradcheck and gradgradcheck, and a broken one."};
  cli::parse_or_exit(app, argc, argv);
  xgrad::manual_seed(0);
  Tensor x = xgrad::randn({3, 4}, {.dtype = xgrad::f64, .requires_grad = true});

  const auto swish = [](const std::vector<Tensor>& in) { return Swish::apply(in[0]); };
  const xgrad::GradcheckReport good = xgrad::gradcheck(swish, {x}, {.check_forward_ad = true});
  std::cout << "Swish:       " << good << "\n";
  const xgrad::GradcheckReport second = xgrad::gradgradcheck(swish, {x});
  std::cout << "Swish, second order: " << second << "\n";

  const xgrad::GradcheckReport bad =
      xgrad::gradcheck([](const std::vector<Tensor>& in) { return BrokenSwish::apply(in[0]); }, {x});
  std::cout << "BrokenSwish: " << bad << "\n";

  // The op in use: gradients flow through it like through any built-in op.
  Tensor y = Swish::apply(x).sum();
  y.backward();
  std::cout << "d/dx sum(swish(x)) =\n" << x.grad() << "\n";
  return good.ok && second.ok && !bad.ok ? 0 : 1;
}
