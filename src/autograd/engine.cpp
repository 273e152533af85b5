// The backward engine: discovers the part of the tape reachable from the roots,
// counts how many edges lead into each node, and runs nodes once every gradient
// for them has arrived (ready nodes in decreasing sequence number). No recursion,
// so graphs of any depth are fine.

#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/accumulate_grad.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "xgrad/ops/arithmetic.hpp"

namespace xgrad::autograd {

using xgrad::detail::fail;
using xgrad::detail::str;

namespace {

struct LaterFirst {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

Tensor seed_gradient(const Tensor& root, const Tensor& given) {
  if (given.defined()) {
    if (given.shape() != root.shape())
      fail<ShapeError>("backward: gradient has shape {} but the tensor has shape {}", str(given.shape()),
                       str(root.shape()));
    if (given.dtype() != root.dtype())
      fail<DTypeError>("backward: gradient has dtype {} but the tensor has dtype {}", dtype_name(given.dtype()),
                       dtype_name(root.dtype()));
    return given;
  }
  if (root.numel() != 1)
    fail<AutogradError>(
        "backward: grad can be implicitly created only for a tensor with one element, but this "
        "tensor has shape {}; pass a gradient of that shape to backward(gradient)",
        str(root.shape()));
  return ones_like(root);
}

void check_gradient(const Node& node, std::size_t i, const Tensor& grad) {
  const TensorMeta& want = node.input_meta()[i];
  if (grad.shape() != want.shape)
    fail<AutogradError>("{}: backward returned a gradient of shape {} for input {} of shape {}", node.name(),
                        str(grad.shape()), i, str(want.shape));
  if (grad.dtype() != want.dtype)
    fail<AutogradError>("{}: backward returned a gradient of dtype {} for input {} of dtype {}", node.name(),
                        dtype_name(grad.dtype()), i, dtype_name(want.dtype));
}

// Sums gradients arriving for one output of a node. Out of place: an incoming
// gradient may be shared with other edges (add's backward passes one tensor on
// to both inputs).
void add_to_slot(Tensor& slot, const Tensor& incoming) { slot = slot.defined() ? slot + incoming : incoming; }

}  // namespace

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  if (!grads.empty() && grads.size() != roots.size())
    fail<AutogradError>("backward: {} roots but {} gradients", roots.size(), grads.size());
  NoGradGuard no_grad;

  std::vector<Edge> root_edges;
  std::vector<Tensor> seeds;
  for (std::size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    if (!root.defined()) fail<AutogradError>("backward: root {} is an undefined tensor", i);
    if (!root.requires_grad())
      fail<AutogradError>(
          "backward: tensor of shape {} does not require grad and has no grad_fn (was it computed "
          "under NoGradGuard, or from tensors without requires_grad?)",
          str(root.shape()));
    root_edges.push_back(gradient_edge(root));
    seeds.push_back(seed_gradient(root, grads.empty() ? Tensor() : grads[i]));
  }

  // Discover the reachable graph and count incoming edges per node.
  std::unordered_map<Node*, std::size_t> pending;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (const Edge& e : root_edges)
    if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& e : node->next_edges()) {
      if (!e.valid()) continue;
      ++pending[e.node.get()];
      if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
  }

  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  auto slot = [&](Node* node, std::uint32_t output) -> Tensor& {
    auto& buffer = buffers[node];
    if (buffer.empty()) buffer.resize(node->output_meta().size());
    return buffer.at(output);
  };
  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  std::unordered_set<Node*> queued;
  for (std::size_t i = 0; i < root_edges.size(); ++i) {
    Node* node = root_edges[i].node.get();
    add_to_slot(slot(node, root_edges[i].input_nr), seeds[i]);
    if (pending[node] == 0 && queued.insert(node).second) ready.push(node);
  }

  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    std::vector<Tensor> incoming = std::move(buffers[node]);
    buffers.erase(node);

    bool any = false;
    for (const Tensor& g : incoming) any = any || g.defined();
    std::vector<Tensor> outgoing;
    if (any) {
      // Outputs that received nothing get zeros, so backward code never sees undefined.
      const auto& outputs = node->output_meta();
      for (std::size_t k = 0; k < outputs.size(); ++k)
        if (!incoming[k].defined()) incoming[k] = zeros(outputs[k].shape, {.dtype = outputs[k].dtype});
      const auto& retained = node->retained_outputs();
      for (std::size_t k = 0; k < retained.size(); ++k)
        if (auto impl = retained[k].lock()) accumulate_into(impl->grad, incoming[k]);
      outgoing = node->apply(std::move(incoming));
      if (outgoing.size() != node->next_edges().size() && !node->next_edges().empty())
        fail<AutogradError>("{}: backward returned {} gradients for {} inputs", node->name(), outgoing.size(),
                            node->next_edges().size());
    }
    if (!retain_graph) node->release_saved();

    const auto& edges = node->next_edges();
    for (std::size_t i = 0; i < edges.size(); ++i) {
      const Edge& e = edges[i];
      if (!e.valid()) continue;
      if (any && outgoing[i].defined()) {
        check_gradient(*node, i, outgoing[i]);
        add_to_slot(slot(e.node.get(), e.input_nr), outgoing[i]);
      }
      if (--pending[e.node.get()] == 0 && queued.insert(e.node.get()).second) ready.push(e.node.get());
    }
  }
}

}  // namespace xgrad::autograd
