#pragma once
// Internal: the light way built-in ops record themselves on the tape.
//
//   Tensor out = ...compute...;
//   if (!detail::any_requires_grad({a, b})) return out;
//   return detail::record("MulBackward", {a, b}, out,
//       [sa = SavedTensor(a), sb = SavedTensor(b)](const BackwardArgs& args) {
//         // grad [*out] -> grads of a and b
//         return std::vector<Tensor>{..., ...};
//       });
//
// The lambda runs under NoGrad; it returns one gradient per input (undefined
// where args.needs(i) is false or the input takes none).

#include <functional>
#include <string>
#include <vector>

#include "xgrad/autograd.hpp"

namespace xgrad::detail {

using autograd::SavedTensor;
using autograd::detail::any_requires_grad;

struct BackwardArgs {
  const std::vector<Tensor>& grads;  // one per output, never undefined
  const std::vector<bool>& needs;    // one per input
  const Tensor& grad(std::size_t output = 0) const { return grads.at(output); }
  bool needs_grad(std::size_t input) const { return needs.at(input); }
};

using BackwardFn = std::function<std::vector<Tensor>(const BackwardArgs&)>;

/// A node whose backward is a lambda; releasing the graph destroys the lambda
/// and everything it captured.
class LambdaNode final : public autograd::Node {
 public:
  LambdaNode(std::string name, std::vector<bool> needs, BackwardFn fn)
      : name_(std::move(name)), needs_(std::move(needs)), fn_(std::move(fn)) {}
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  std::string name() const override { return name_; }
  void release_saved() override { fn_ = nullptr; }

 private:
  std::string name_;
  std::vector<bool> needs_;
  BackwardFn fn_;
};

/// Thrown by a node applied after its graph was freed.
[[noreturn]] void throw_freed_graph(const std::string& op);

/// Records a node for a one-output op and returns `output` connected to it.
/// Call only when any_requires_grad(inputs).
Tensor record(std::string name, const std::vector<Tensor>& inputs, Tensor output, BackwardFn fn);
/// The same for an op with several outputs.
std::vector<Tensor> record(std::string name, const std::vector<Tensor>& inputs,
                           std::vector<Tensor> outputs, BackwardFn fn);

}  // namespace xgrad::detail
