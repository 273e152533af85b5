// The backward engine: discovers the part of the tape reachable from the roots,
// counts how many edges lead into each node, and runs nodes once every gradient
// for them has arrived (ready nodes in decreasing sequence number). No recursion,
// so graphs of any depth are fine. Under create_graph it runs with grad mode on,
// so that what each node's backward computes is recorded in turn.

#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/accumulate_grad.hpp"
#include "autograd/anomaly.hpp"
#include "autograd/grad_mode.hpp"
#include "autograd/record.hpp"
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

Tensor seed_gradient(const char* op, const Tensor& root, const Tensor& given) {
  if (given.defined()) {
    if (given.shape() != root.shape())
      fail<ShapeError>("{}: gradient has shape {} but the tensor has shape {}", op, str(given.shape()),
                       str(root.shape()));
    if (given.dtype() != root.dtype())
      fail<DTypeError>("{}: gradient has dtype {} but the tensor has dtype {}", op, dtype_name(given.dtype()),
                       dtype_name(root.dtype()));
    return given;
  }
  if (root.numel() != 1)
    fail<AutogradError>(
        "{}: grad can be implicitly created only for a tensor with one element, but this "
        "tensor has shape {}; pass a gradient of that shape",
        op, str(root.shape()));
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

// Stands for the backward of a once-differentiable node under create_graph: the
// gradient it computed depends on that node's inputs (and on the gradients that
// reached it), but nothing recorded how, so differentiating it again throws.
class NotDifferentiableBackward final : public Node {
 public:
  explicit NotDifferentiableBackward(std::string of) : of_(std::move(of)) {}
  std::vector<Tensor> apply(std::vector<Tensor>&&) override {
    fail<AutogradError>(
        "{}: its backward is not differentiable (once_differentiable), so a gradient computed through it "
        "cannot be differentiated again (create_graph, gradgradcheck, hessian): there is no second "
        "derivative through {}",
        of_, of_);
  }
  std::string name() const override { return of_ + "'s backward"; }

 private:
  std::string of_;
};

// Under create_graph, the gradients a once-differentiable node returned become
// outputs of a NotDifferentiableBackward linked to what they depend on.
void mark_not_differentiable(const Node& node, const std::vector<Tensor>& incoming, std::vector<Tensor>& outgoing) {
  auto marker = std::make_shared<NotDifferentiableBackward>(node.name());
  for (std::size_t i = 0; i < node.next_edges().size(); ++i)
    marker->add_next_edge(node.next_edges()[i], node.input_meta()[i]);
  for (const Tensor& g : incoming)
    if (g.defined() && g.requires_grad()) marker->add_next_edge(gradient_edge(g), TensorMeta{g.shape(), g.dtype()});
  for (Tensor& g : outgoing) {
    if (!g.defined()) continue;
    g = g.detach();
    g.impl()->grad_fn = marker;
    g.impl()->output_nr = marker->add_output(TensorMeta{g.shape(), g.dtype()});
  }
}

// Sums gradients arriving for one output of a node. Out of place: an incoming
// gradient may be shared with other edges (add's backward passes one tensor on
// to both inputs).
void add_to_slot(Tensor& slot, const Tensor& incoming) { slot = slot.defined() ? slot + incoming : incoming; }

// What grad() asks of a run: the gradients arriving along `edges`, returned
// instead of accumulated into any .grad().
struct Capture {
  std::vector<Edge> edges;
  std::vector<Tensor> grads;  // filled by run(), one per edge
  std::vector<bool> reached;  // whether the edge's node was reachable from the roots
};

std::vector<Edge> root_edges_of(const char* op, const std::vector<Tensor>& roots) {
  std::vector<Edge> edges;
  for (std::size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    if (!root.defined()) fail<AutogradError>("{}: root {} is an undefined tensor", op, i);
    if (!root.requires_grad())
      fail<AutogradError>(
          "{}: tensor of shape {} does not require grad and has no grad_fn (was it computed "
          "under NoGradGuard, or from tensors without requires_grad?)",
          op, str(root.shape()));
    edges.push_back(gradient_edge(root));
  }
  return edges;
}

std::vector<Tensor> seeds_of(const char* op, const std::vector<Tensor>& roots, const std::vector<Tensor>& grads) {
  if (!grads.empty() && grads.size() != roots.size())
    fail<AutogradError>("{}: {} roots but {} gradients", op, roots.size(), grads.size());
  std::vector<Tensor> seeds;
  for (std::size_t i = 0; i < roots.size(); ++i)
    seeds.push_back(seed_gradient(op, roots[i], grads.empty() ? Tensor() : grads[i]));
  return seeds;
}

// Every node reachable from the roots, with the number of edges leading into it.
std::unordered_map<Node*, std::size_t> count_incoming_edges(const std::vector<Edge>& root_edges) {
  std::unordered_map<Node*, std::size_t> pending;
  std::vector<Node*> stack;
  for (const Edge& e : root_edges)
    if (pending.try_emplace(e.node.get(), 0).second) stack.push_back(e.node.get());
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& e : node->next_edges()) {
      if (!e.valid()) continue;
      const auto [it, inserted] = pending.try_emplace(e.node.get(), 0);
      ++it->second;
      if (inserted) stack.push_back(e.node.get());
    }
  }
  return pending;
}

// The nodes from which a captured edge can be reached: the only ones grad() runs.
std::unordered_set<Node*> nodes_leading_to(const Capture& capture,
                                           const std::unordered_map<Node*, std::size_t>& reachable) {
  std::unordered_set<Node*> needed;
  for (const Edge& e : capture.edges) needed.insert(e.node.get());
  // Children are usually recorded before their parents, so walking by increasing
  // sequence number settles in one pass; repeat until nothing changes (a leaf's
  // accumulator may be created after the nodes that feed it).
  std::vector<Node*> order;
  for (const auto& entry : reachable) order.push_back(entry.first);
  std::sort(order.begin(), order.end(), [](Node* a, Node* b) { return a->sequence_nr() < b->sequence_nr(); });
  for (bool grew = true; grew;) {
    grew = false;
    for (Node* node : order) {
      if (needed.count(node)) continue;
      const auto& edges = node->next_edges();
      if (std::any_of(edges.begin(), edges.end(), [&](const Edge& e) { return e.valid() && needed.count(e.node.get()); })) {
        needed.insert(node);
        grew = true;
      }
    }
  }
  return needed;
}

// What queue_callback() appends to: the callbacks of the backward running on
// this thread (null outside one; a backward nested in a node saves the outer's).
thread_local std::vector<std::function<void()>>* queued_callbacks = nullptr;

class CallbackScope {
 public:
  CallbackScope() : outer_(queued_callbacks) { queued_callbacks = &callbacks_; }
  ~CallbackScope() { queued_callbacks = outer_; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;
  // In order; a callback may queue more (an index loop, since push_back may move them).
  void run_all() {
    for (std::size_t i = 0; i < callbacks_.size(); ++i) {
      auto callback = std::move(callbacks_[i]);
      callback();
    }
  }

 private:
  std::vector<std::function<void()>> callbacks_;
  std::vector<std::function<void()>>* outer_;
};

// Runs the nodes reachable from the roots in reverse order of recording. Without
// a capture, leaves accumulate into .grad() (backward); with one, the gradients
// along the captured edges are stored there and nothing accumulates (grad).
void run(const std::vector<Edge>& root_edges, const std::vector<Tensor>& seeds, GradOptions options,
         Capture* capture) {
  const bool retain_graph = options.retain_graph || options.create_graph;
  CallbackScope callbacks;
  xgrad::detail::GradModeGuard mode(options.create_graph);
  detail::ForwardSuspended no_forward;  // gradients carry no tangents
  std::unordered_map<Node*, std::size_t> pending = count_incoming_edges(root_edges);
  std::unordered_set<Node*> needed;
  if (capture) {
    needed = nodes_leading_to(*capture, pending);
    capture->grads.assign(capture->edges.size(), Tensor());
    capture->reached.assign(capture->edges.size(), false);
    for (std::size_t i = 0; i < capture->edges.size(); ++i)
      capture->reached[i] = pending.count(capture->edges[i].node.get()) > 0;
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
    incoming.resize(node->output_meta().size());

    bool any = false;
    for (const Tensor& g : incoming) any = any || g.defined();
    if (any) {
      // Outputs that received nothing get zeros, so backward code never sees undefined.
      const auto& outputs = node->output_meta();
      for (std::size_t k = 0; k < outputs.size(); ++k)
        if (!incoming[k].defined()) incoming[k] = zeros(outputs[k].shape, {.dtype = outputs[k].dtype});
    }

    bool execute = any;
    if (capture) {
      for (std::size_t i = 0; i < capture->edges.size(); ++i)
        if (capture->edges[i].node.get() == node) capture->grads[i] = incoming.at(capture->edges[i].input_nr);
      // grad() accumulates nothing: leaves' accumulators and nodes that lead to
      // no captured edge are skipped.
      const auto& edges = node->next_edges();
      execute = any && std::any_of(edges.begin(), edges.end(),
                                   [&](const Edge& e) { return e.valid() && needed.count(e.node.get()); });
    } else if (any) {
      const auto& retained = node->retained_outputs();
      for (std::size_t k = 0; k < retained.size(); ++k)
        if (auto impl = retained[k].lock()) accumulate_into(impl->grad, incoming[k]);
    }

    std::vector<Tensor> outgoing;
    if (execute) {
      const bool mark = options.create_graph && node->once_differentiable();
      const bool detect = is_anomaly_enabled();
      std::vector<Tensor> received = mark || detect ? incoming : std::vector<Tensor>{};
      {
        detail::RunningNode running(node->shared_from_this());
        outgoing = node->apply(std::move(incoming));
      }
      if (outgoing.size() != node->next_edges().size() && !node->next_edges().empty())
        fail<AutogradError>("{}: backward returned {} gradients for {} inputs", node->name(), outgoing.size(),
                            node->next_edges().size());
      if (detect) detail::check_anomaly(*node, received, outgoing);
      if (mark) mark_not_differentiable(*node, received, outgoing);
    }
    if (!retain_graph) node->release_saved();

    const auto& edges = node->next_edges();
    for (std::size_t i = 0; i < edges.size(); ++i) {
      const Edge& e = edges[i];
      if (!e.valid()) continue;
      if (execute && outgoing[i].defined()) {
        check_gradient(*node, i, outgoing[i]);
        add_to_slot(slot(e.node.get(), e.input_nr), outgoing[i]);
      }
      if (--pending[e.node.get()] == 0 && queued.insert(e.node.get()).second) ready.push(e.node.get());
    }
  }
  callbacks.run_all();
}

}  // namespace

void queue_callback(std::function<void()> callback) {
  if (!queued_callbacks)
    fail<AutogradError>("queue_callback: no backward is running on this thread (call it from a node or a hook)");
  if (!callback) fail<ValueError>("queue_callback: the callback is empty");
  queued_callbacks->push_back(std::move(callback));
}

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, GradOptions options) {
  const std::vector<Edge> root_edges = root_edges_of("backward", roots);
  run(root_edges, seeds_of("backward", roots, grads), options, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, GradOptions options) {
  const bool allow_unused = options.allow_unused;
  const std::vector<Edge> root_edges = root_edges_of("grad", outputs);
  const std::vector<Tensor> seeds = seeds_of("grad", outputs, grad_outputs);
  Capture capture;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& input = inputs[i];
    if (!input.defined()) fail<AutogradError>("grad: input {} is an undefined tensor", i);
    if (!input.requires_grad())
      fail<AutogradError>("grad: input {} (shape {}) does not require grad", i, str(input.shape()));
    capture.edges.push_back(gradient_edge(input));
  }
  run(root_edges, seeds, options, &capture);

  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!capture.reached[i]) {
      if (!allow_unused)
        fail<AutogradError>(
            "grad: input {} (shape {}) is not used to compute the outputs; pass allow_unused = true "
            "to get an undefined gradient for it",
            i, str(inputs[i].shape()));
      continue;
    }
    // Reached only along paths that carried no gradient: zeros.
    if (!capture.grads[i].defined()) capture.grads[i] = zeros(inputs[i].shape(), {.dtype = inputs[i].dtype()});
  }
  return capture.grads;
}

}  // namespace xgrad::autograd
