// Gradient checkpointing: keep a segment's inputs, not its activations, and
// run it again during backward (as torch.utils.checkpoint, the reentrant form).

#include "autograd/grad_mode.hpp"
#include "autograd/record.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "xgrad/random.hpp"

namespace xgrad::autograd {

using xgrad::detail::fail;

namespace {

// Puts the default generator back to `state` for a scope, then restores what it held.
class GeneratorReplay {
 public:
  explicit GeneratorReplay(const std::string& state) : previous_(default_generator().state()) {
    default_generator().set_state(state);
  }
  ~GeneratorReplay() { default_generator().set_state(previous_); }
  GeneratorReplay(const GeneratorReplay&) = delete;
  GeneratorReplay& operator=(const GeneratorReplay&) = delete;

 private:
  std::string previous_;
};

}  // namespace

Tensor checkpoint(const CheckpointFunction& fn, const std::vector<Tensor>& inputs) {
  // Forward mode, or nothing to differentiate: just run the segment.
  if (detail::needs_forward(inputs) || !is_grad_enabled()) return fn(inputs);
  const std::string rng = default_generator().state();
  Tensor out;
  bool needs_graph = false;
  {
    // Nothing recorded, nothing saved: the probe only notes whether an op met a
    // tensor that requires grad (an input, or a parameter fn captures).
    NoGradGuard no_grad;
    detail::RequiresGradProbe probe;
    out = fn(inputs);
    needs_graph = probe.seen();
  }
  if (!out.defined()) fail<ValueError>("checkpoint: the function returned an undefined tensor");
  if (!needs_graph) return out;
  std::vector<SavedTensor> saved;
  for (const Tensor& t : inputs) saved.emplace_back(t);
  std::vector<bool> needs;
  for (const Tensor& t : inputs) needs.push_back(t.defined() && t.requires_grad());
  // Connected even when no input requires grad: the tensors fn captures may.
  auto node = std::make_shared<xgrad::detail::LambdaNode>(
      "CheckpointBackward", needs,
      [fn, saved, rng](const xgrad::detail::BackwardArgs& args) {
        // The inputs again, as leaves of the recomputed graph (detached, so that
        // its backward stops at them); tensors fn captures (parameters)
        // accumulate their gradients as they would without checkpointing.
        std::vector<Tensor> leaves;
        for (std::size_t i = 0; i < saved.size(); ++i) {
          const Tensor t = saved[i].unpack("CheckpointBackward");
          leaves.push_back(t.defined() ? t.detach().requires_grad_(args.needs_grad(i)) : t);
        }
        Tensor again;
        {
          GeneratorReplay replay(rng);  // the same dropout masks
          xgrad::detail::GradModeGuard on(true);
          again = fn(leaves);
        }
        if (again.requires_grad()) backward({again}, {args.grad()});
        std::vector<Tensor> grads(leaves.size());
        for (std::size_t i = 0; i < leaves.size(); ++i)
          if (args.needs_grad(i) && leaves[i].defined()) grads[i] = leaves[i].grad();
        return grads;
      },
      xgrad::detail::Backward::once);
  std::vector<Tensor> outputs{out};
  detail::connect(node, inputs, outputs);
  return outputs[0];
}

}  // namespace xgrad::autograd
