// Node bookkeeping, connecting op outputs to the tape, and the leaf accumulator.

#include <cxxabi.h>

#include <atomic>
#include <cstdlib>

#include "autograd/accumulate_grad.hpp"
#include "autograd/anomaly.hpp"
#include "autograd/record.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"

namespace xgrad::autograd {

namespace {
std::atomic<std::uint64_t> next_sequence_nr{0};
}

Node::Node() : sequence_nr_(next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) { detail::note_created(*this); }

// Destroying the last handle of a long chain would otherwise recurse once per
// node (each node owns its inputs' nodes) and overflow the stack. Nodes about to
// die are parked in a thread-local queue that the outermost destructor drains.
Node::~Node() {
  detail::note_destroyed(*this);
  thread_local std::vector<std::shared_ptr<Node>> dying;
  thread_local bool draining = false;
  for (Edge& edge : next_edges_)
    if (edge.node && edge.node.use_count() == 1) dying.push_back(std::move(edge.node));
  if (draining) return;
  draining = true;
  while (!dying.empty()) {
    std::shared_ptr<Node> node = std::move(dying.back());
    dying.pop_back();
    node.reset();  // may push that node's inputs
  }
  draining = false;
}

}  // namespace xgrad::autograd

namespace xgrad::autograd::detail {

using xgrad::detail::fail;

namespace {
thread_local std::shared_ptr<Node> current_node;
}

std::shared_ptr<Node> running_node() { return current_node; }

RunningNode::RunningNode(std::shared_ptr<Node> node) : previous_(std::move(current_node)) {
  current_node = std::move(node);
}

RunningNode::~RunningNode() { current_node = std::move(previous_); }

namespace {
thread_local bool probing = false;
thread_local bool probe_seen = false;
}

RequiresGradProbe::RequiresGradProbe() : previous_seen_(probe_seen), previous_probing_(probing) {
  probing = true;
  probe_seen = false;
}
RequiresGradProbe::~RequiresGradProbe() {
  probing = previous_probing_;
  probe_seen = previous_seen_ || probe_seen;
}
bool RequiresGradProbe::seen() const { return probe_seen; }

bool needs_reverse(const std::vector<Tensor>& inputs) {
  const bool enabled = is_grad_enabled();
  if (!enabled && !probing) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) {
      if (enabled) return true;
      probe_seen = true;
      return false;
    }
  return false;
}

bool any_requires_grad(const std::vector<Tensor>& inputs) { return needs_reverse(inputs) || needs_forward(inputs); }

void connect(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
             std::vector<Tensor>& outputs) {
  for (const Tensor& in : inputs) {
    if (in.defined() && in.requires_grad()) {
      node->add_next_edge(gradient_edge(in), TensorMeta{in.shape(), in.dtype()});
    } else {
      node->add_next_edge(Edge{}, in.defined() ? TensorMeta{in.shape(), in.dtype()} : TensorMeta{});
    }
  }
  for (Tensor& out : outputs) {
    if (!out.defined()) fail<AutogradError>("{}: forward returned an undefined tensor", node->name());
    if (!is_floating(out.dtype()))
      fail<AutogradError>("{}: output of dtype {} cannot carry a gradient", node->name(),
                          dtype_name(out.dtype()));
    auto& impl = *out.impl();
    impl.grad_fn = node;
    impl.output_nr = node->add_output(TensorMeta{out.shape(), out.dtype()});
  }
}

Tensor shallow_alias(const Tensor& t) { return xgrad::detail::make_view(t, t.shape(), t.strides(), t.storage_offset()); }

std::string demangle(const char* name) {
  int status = 0;
  char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string result = status == 0 && readable ? readable : name;
  std::free(readable);
  return result;
}

void throw_wrong_gradient_count(const std::string& op, std::size_t got, std::size_t want) {
  fail<AutogradError>("{}: backward returned {} gradients but forward took {} arguments (return one per "
                      "argument, an undefined Tensor for non-tensor arguments)",
                      op, got, want);
}

}  // namespace xgrad::autograd::detail

namespace xgrad::detail {

std::vector<Tensor> LambdaNode::apply(std::vector<Tensor>&& grads) {
  if (!fn_) throw_freed_graph(name_);
  return fn_(BackwardArgs{grads, needs_});
}

void throw_freed_graph(const std::string& op) {
  fail<AutogradError>(
      "{}: trying to backward through the graph a second time, but its saved tensors were "
      "already freed; pass retain_graph=true to the first backward if you need to go through "
      "the graph again",
      op);
}

Tensor apply_linear(const std::shared_ptr<const LinearPair>& pair, const Tensor& in, bool adjoint) {
  Tensor out = adjoint ? pair->adjoint(in) : pair->apply(in);
  if (!autograd::detail::any_requires_grad({in})) return out;
  return record(adjoint ? pair->adjoint_name : pair->name, {in}, std::move(out),
                [pair, adjoint](const BackwardArgs& args) {
                  return std::vector<Tensor>{apply_linear(pair, args.grad(), !adjoint)};
                });
}

std::vector<Tensor> gradients_by_recomputation(const std::function<Tensor(const std::vector<Tensor>&)>& composite,
                                               const std::vector<Tensor>& inputs, const Tensor& grad,
                                               const std::vector<bool>& needs) {
  // An input that needs a gradient but is not part of a graph (forward mode
  // pairs its tangent with it) is differentiated as a fresh leaf.
  std::vector<Tensor> in = inputs, wrt;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!needs.at(i) || !in[i].defined()) continue;
    if (!in[i].requires_grad()) in[i] = in[i].detach().requires_grad_();
    wrt.push_back(in[i]);
  }
  std::vector<Tensor> grads(inputs.size());
  if (wrt.empty()) return grads;
  const Tensor out = composite(in);
  const std::vector<Tensor> found =
      autograd::grad({out}, wrt, {grad}, {.retain_graph = true, .create_graph = true, .allow_unused = true});
  for (std::size_t i = 0, k = 0; i < in.size(); ++i)
    if (needs.at(i) && in[i].defined()) grads[i] = found[k++];
  return grads;
}

// Which inputs the backward computes gradients for: those that need one, and
// (forward mode) those whose tangent the jvp pairs with a gradient.
static std::vector<bool> needs_of(const std::vector<Tensor>& inputs, bool reverse) {
  std::vector<bool> needs;
  needs.reserve(inputs.size());
  for (const Tensor& t : inputs)
    needs.push_back(t.defined() && ((reverse && t.requires_grad()) || autograd::detail::has_tangent(t)));
  return needs;
}

Tensor record(std::string name, const std::vector<Tensor>& inputs, Tensor output, BackwardFn fn, Backward kind) {
  std::vector<Tensor> outputs{std::move(output)};
  outputs = record(std::move(name), inputs, std::move(outputs), std::move(fn), kind);
  return outputs.front();
}

std::vector<Tensor> record(std::string name, const std::vector<Tensor>& inputs, std::vector<Tensor> outputs,
                           BackwardFn fn, Backward kind) {
  const bool reverse = autograd::detail::needs_reverse(inputs), forward = autograd::detail::needs_forward(inputs);
  auto node = std::make_shared<LambdaNode>(std::move(name), needs_of(inputs, reverse), std::move(fn), kind);
  if (reverse) {
    autograd::detail::connect(node, inputs, outputs);
  } else {
    // Forward mode alone: the node only computes the tangents; it still needs
    // the edges' metadata, and the outputs stay unconnected.
    for (const Tensor& in : inputs)
      node->add_next_edge(autograd::Edge{}, in.defined() ? autograd::TensorMeta{in.shape(), in.dtype()} : autograd::TensorMeta{});
    for (const Tensor& out : outputs) node->add_output(autograd::TensorMeta{out.shape(), out.dtype()});
  }
  if (forward) autograd::detail::propagate_tangents(node, inputs, outputs);
  return outputs;
}

}  // namespace xgrad::detail
