#pragma once
/// \file autograd.hpp
/// The tape: nodes recorded by differentiable ops, the engine that walks them
/// backwards, grad mode, and user-defined differentiable functions.
///
/// An op whose inputs require grad (while grad mode is on) creates a Node that
/// holds what its backward needs and edges to the nodes of its inputs. Nodes are
/// numbered in creation order; backward processes the reachable nodes in reverse
/// topological order (ties broken by that number), summing the gradients that
/// arrive at each node before running it. Leaves accumulate into `.grad()`.
///
/// Higher order: with GradOptions::create_graph the backward runs with grad mode
/// on, so the ops inside each node's backward record nodes of their own and the
/// gradients returned are differentiable again. Saved tensors then unpack with
/// their place in the graph (an input with its grad_fn or leaf, an output with the
/// node that made it). A node whose backward is not written with differentiable
/// ops says so (once_differentiable), and differentiating its gradient throws.

#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad {

/// Grad mode of the calling thread (on by default).
bool is_grad_enabled();
void set_grad_enabled(bool enabled);

/// While alive, ops on this thread record nothing (as torch::NoGradGuard).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

namespace autograd {

class Node;

/// Where a gradient goes: input `input_nr` of `node` (null for inputs that need none).
struct Edge {
  std::shared_ptr<Node> node;
  std::uint32_t input_nr = 0;
  bool valid() const { return node != nullptr; }
};

/// Shape and dtype of a tensor flowing through a node, kept to validate gradients.
struct TensorMeta {
  Shape shape;
  DType dtype = DType::f32;
};

/// One recorded operation. Subclasses map the gradients of the node's outputs to
/// the gradients of its inputs (one per edge; undefined where not needed).
class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// grads[i] is the gradient of output i (zeros are filled in for outputs that
  /// received none). Returns one gradient per next edge.
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grads) = 0;
  /// The op's name in error messages, e.g. "MulBackward".
  virtual std::string name() const = 0;
  /// Frees what forward saved (called after backward unless retain_graph); a
  /// later apply() that needs the saved values must throw AutogradError.
  virtual void release_saved() {}
  /// True when apply() computes its gradients outside the tape (kernels, raw
  /// loops): under create_graph its results are then marked so that
  /// differentiating them again throws, instead of silently giving zeros.
  virtual bool once_differentiable() const { return false; }
  /// Forward mode: the tangents of the node's outputs for the tangents of its
  /// inputs (one per edge, undefined where an input has none), called right
  /// after forward recorded the node. The default derives them from the
  /// backward, which is linear in the output gradient v: J u = d/dv <Jᵀ v, u>
  /// (one backward with create_graph and one more backward, so about three
  /// times the op's backward); a once-differentiable node throws.
  virtual std::vector<Tensor> jvp(const std::vector<Tensor>& input_tangents);

  std::uint64_t sequence_nr() const { return sequence_nr_; }
  const std::vector<Edge>& next_edges() const { return next_edges_; }
  const std::vector<TensorMeta>& input_meta() const { return input_meta_; }
  const std::vector<TensorMeta>& output_meta() const { return output_meta_; }

  /// Set up by the op that records the node (see detail::connect).
  void add_next_edge(Edge edge, TensorMeta input) {
    next_edges_.push_back(std::move(edge));
    input_meta_.push_back(std::move(input));
  }
  std::uint32_t add_output(TensorMeta output) {
    output_meta_.push_back(std::move(output));
    retained_.emplace_back();
    return static_cast<std::uint32_t>(output_meta_.size() - 1);
  }
  /// Non-leaf tensors whose gradient must be kept (retain_grad), by output number.
  void retain_output(std::uint32_t output_nr, std::weak_ptr<detail::TensorImpl> tensor) {
    retained_.at(output_nr) = std::move(tensor);
  }
  const std::vector<std::weak_ptr<detail::TensorImpl>>& retained_outputs() const { return retained_; }

 private:
  std::uint64_t sequence_nr_;
  std::vector<Edge> next_edges_;
  std::vector<TensorMeta> input_meta_;
  std::vector<TensorMeta> output_meta_;
  std::vector<std::weak_ptr<detail::TensorImpl>> retained_;
};

/// Runs backward from several roots at once; grads[i] seeds roots[i] (undefined
/// means ones for a one-element root). options.allow_unused is ignored.
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads = {}, GradOptions options = {});

/// Called during a backward (from a node's apply or a tensor hook): runs
/// `callback` on the same thread once every node of that backward has run,
/// before backward() returns (PyTorch's Engine::queue_callback); callbacks
/// queued by callbacks run too. Dropped if the backward throws. Throws
/// AutogradError when no backward is running.
void queue_callback(std::function<void()> callback);

/// The gradients of `outputs` with respect to `inputs` (as torch::autograd::grad),
/// returned instead of accumulated: no tensor's `.grad()` changes. `inputs` may be
/// leaves or intermediate results; `grad_outputs` seed the outputs as in backward().
/// An input the outputs do not depend on throws AutogradError, unless
/// `options.allow_unused`, which returns an undefined Tensor for it. With
/// `options.create_graph` the gradients are differentiable:
///   auto g = grad({y}, {x}, {}, {.create_graph = true});  auto gg = grad({g[0].sum()}, {x});
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, GradOptions options = {});

/// A tensor saved for backward, stamped with its storage version so that a later
/// in-place change is caught. What it keeps depends on what it is to the op:
/// an input (the constructor) keeps its place in the graph (its grad_fn, or the
/// leaf itself), an output (output()) only its data, since the node that made it
/// holds the SavedTensor (a strong link back would be a cycle). unpack() returns
/// the bare data, except under create_graph, where an input comes back with its
/// grad_fn and an output with the node being run as its grad_fn.
class SavedTensor {
 public:
  SavedTensor() = default;
  /// An input of the op (or any tensor that is not one of its outputs).
  explicit SavedTensor(const Tensor& tensor);
  /// Output `output_nr` of the op, saved before the op records its node.
  static SavedTensor output(const Tensor& tensor, std::uint32_t output_nr = 0);
  /// The saved tensor; throws AutogradError if it was modified in place since.
  Tensor unpack(const std::string& op) const;
  bool defined() const { return data_.defined(); }
  /// For Function<T>: whether this saved `t` itself, and re-marking it as output
  /// `output_nr` once forward is known to have returned it.
  bool saved(const Tensor& t) const;
  void mark_output(std::uint32_t output_nr);

 private:
  Tensor data_;                          // detached alias of the saved tensor
  std::shared_ptr<Node> grad_fn_;        // an input's producer (null for leaves and outputs)
  std::shared_ptr<xgrad::detail::TensorImpl> leaf_;  // an input leaf that requires grad
  const xgrad::detail::TensorImpl* original_ = nullptr;  // identity, only compared
  std::uint32_t output_nr_ = 0;
  bool is_output_ = false;
  std::uint64_t version_ = 0;
};

/// What a user-defined Function keeps between forward and backward.
class Context {
 public:
  void save_for_backward(const std::vector<Tensor>& tensors);
  /// The tensors given to save_for_backward, in order (throws after the graph
  /// was freed, or when one was modified in place since).
  std::vector<Tensor> saved_tensors() const;
  /// Non-tensor values, e.g. `ctx.saved_data["scale"] = 2.0;` then
  /// `std::any_cast<double>(ctx.saved_data.at("scale"))`.
  std::map<std::string, std::any> saved_data;
  /// Whether forward argument `index` is a tensor that needs a gradient.
  bool needs_input_grad(std::size_t index) const;
  /// Outputs (returned by forward) that carry no gradient, e.g. indices: they
  /// come out not requiring grad, and backward receives zeros for them.
  void mark_non_differentiable(const std::vector<Tensor>& outputs);

  // For Function<T>::apply.
  void set_needs_input_grad(std::vector<bool> needs) { needs_input_grad_ = std::move(needs); }
  void set_name(std::string name) { name_ = std::move(name); }
  void release();
  /// After forward: a saved tensor that forward returned becomes an output save
  /// (no cycle through the node), and the non-differentiable outputs are cut.
  void settle_outputs(std::vector<Tensor>& outputs);

 private:
  std::vector<SavedTensor> saved_;
  std::vector<const xgrad::detail::TensorImpl*> non_differentiable_;
  std::vector<bool> needs_input_grad_;
  std::string name_ = "Function";
  bool released_ = false;
};

namespace detail {

/// Connects `outputs` to a node recorded for `inputs` (sets their grad_fn) and
/// adds one edge per input. Defined in the library; used by Function<T> and ops.
void connect(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
             std::vector<Tensor>& outputs);
/// True when an op on `inputs` must record a node: needs_reverse or needs_forward.
bool any_requires_grad(const std::vector<Tensor>& inputs);
/// A handle to the same data with its own autograd identity (for an output that
/// aliases an input).
Tensor shallow_alias(const Tensor& t);
std::string demangle(const char* name);

/// Thrown in forward mode through a Function that declares no jvp.
[[noreturn]] void throw_no_jvp(const std::string& op);
/// Whether reverse mode must record a node for `inputs` (grad mode on and one
/// of them requires grad), and whether forward mode must (a dual level is
/// active and one of them carries a tangent).
bool needs_reverse(const std::vector<Tensor>& inputs);
bool needs_forward(const std::vector<Tensor>& inputs);
/// After `node` was recorded for `inputs` -> `outputs`: gives the outputs their
/// tangents (forward mode), from node->jvp.
void propagate_tangents(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
                        std::vector<Tensor>& outputs);

/// Thrown when a Function's backward returns the wrong number of gradients.
[[noreturn]] void throw_wrong_gradient_count(const std::string& op, std::size_t got, std::size_t want);

template <class T>
void collect_tensor(std::vector<Tensor>& tensors, std::vector<std::size_t>& positions,
                    std::size_t position, const T& arg) {
  if constexpr (std::is_same_v<std::decay_t<T>, Tensor>) {
    tensors.push_back(arg);
    positions.push_back(position);
  }
}

/// The node that a Function<T> records: forwards apply() to T::backward.
template <class T>
class CppNode final : public Node {
 public:
  Context ctx;
  std::vector<std::size_t> tensor_positions;  // argument index of each edge
  std::size_t num_args = 0;

  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    std::vector<Tensor> per_arg = T::backward(ctx, grads);
    if (per_arg.size() != num_args) throw_wrong_gradient_count(name(), per_arg.size(), num_args);
    std::vector<Tensor> per_edge;
    per_edge.reserve(tensor_positions.size());
    for (std::size_t position : tensor_positions) per_edge.push_back(per_arg[position]);
    return per_edge;
  }
  std::string name() const override { return demangle(typeid(T).name()); }
  void release_saved() override { ctx.release(); }
  bool once_differentiable() const override {
    if constexpr (requires { T::once_differentiable; }) {
      return T::once_differentiable;
    } else {
      return false;
    }
  }
  std::vector<Tensor> jvp(const std::vector<Tensor>& input_tangents) override {
    if constexpr (requires(Context& c, const std::vector<Tensor>& t) { T::jvp(c, t); }) {
      return T::jvp(ctx, input_tangents);  // one per Tensor argument of forward, in order
    } else {
      throw_no_jvp(name());
    }
  }
};

}  // namespace detail

/// Base for user-defined differentiable ops, the LibTorch way:
///
///   struct Swish : xgrad::autograd::Function<Swish> {
///     static Tensor forward(Context& ctx, const Tensor& x) { ... ctx.save_for_backward({x}); }
///     static std::vector<Tensor> backward(Context& ctx, const std::vector<Tensor>& grads) {
///       ... return {grad_x};   // one entry per forward argument (after ctx)
///     }
///   };
///   Tensor y = Swish::apply(x);
///
/// forward runs with grad mode off; it returns a Tensor or a std::vector<Tensor>.
/// backward returns one gradient per forward argument, undefined for non-tensor
/// arguments and for inputs that need none. A backward written with
/// differentiable ops is differentiable again (create_graph) with nothing more to
/// do; one that is not (raw loops over data) declares
/// `static constexpr bool once_differentiable = true;`, and a second derivative
/// through it then throws AutogradError naming the Function.
template <class Derived>
struct Function {
  template <class... Args>
  static auto apply(Args&&... args) {
    auto node = std::make_shared<detail::CppNode<Derived>>();
    node->num_args = sizeof...(Args);
    std::vector<Tensor> inputs;
    {
      std::size_t position = 0;
      (detail::collect_tensor(inputs, node->tensor_positions, position++, args), ...);
    }
    const bool reverse = detail::needs_reverse(inputs), forward = detail::needs_forward(inputs);
    const bool record = reverse || forward;
    if (record) {
      std::vector<bool> needs(sizeof...(Args), false);
      for (std::size_t i = 0; i < inputs.size(); ++i)
        needs[node->tensor_positions[i]] = reverse && inputs[i].requires_grad();
      node->ctx.set_needs_input_grad(std::move(needs));
    }
    node->ctx.set_name(node->name());

    using Result = decltype(Derived::forward(node->ctx, std::forward<Args>(args)...));
    static_assert(std::is_same_v<Result, Tensor> || std::is_same_v<Result, std::vector<Tensor>>,
                  "Function<T>::forward must return Tensor or std::vector<Tensor>");
    std::vector<Tensor> outputs;
    {
      NoGradGuard no_grad;
      if constexpr (std::is_same_v<Result, Tensor>) {
        outputs.push_back(Derived::forward(node->ctx, std::forward<Args>(args)...));
      } else {
        outputs = Derived::forward(node->ctx, std::forward<Args>(args)...);
      }
    }
    // An output that is one of the inputs gets its own handle, so that the
    // input keeps its own place in the graph.
    for (Tensor& out : outputs)
      for (const Tensor& in : inputs)
        if (out.is_same(in)) out = detail::shallow_alias(out);
    if (reverse) {
      detail::connect(node, inputs, outputs);
      node->ctx.settle_outputs(outputs);
    }
    if (forward) detail::propagate_tangents(node, inputs, outputs);
    if constexpr (std::is_same_v<Result, Tensor>) {
      return outputs.front();
    } else {
      return outputs;
    }
  }
};

using CheckpointFunction = std::function<Tensor(const std::vector<Tensor>&)>;

/// fn(inputs), keeping only the inputs for backward: the segment runs again
/// during backward (with the default generator put back as it was, so dropout
/// draws the same masks), which trades compute for activation memory. Tensors
/// fn captures (a module's parameters) get the gradients they would get
/// without checkpointing. As PyTorch's reentrant checkpoint: use it with
/// backward() (autograd::grad would not see the captured tensors), and it is
/// once differentiable (a second derivative through it throws). Under forward
/// mode, or with grad mode off, fn simply runs.
Tensor checkpoint(const CheckpointFunction& fn, const std::vector<Tensor>& inputs);

/// Forward-mode AD with dual numbers, as torch.autograd.forward_ad:
///
///   namespace fwd = xgrad::autograd::forward_ad;
///   { fwd::DualLevel level;
///     Tensor d = fwd::make_dual(x, u);           // x carrying the tangent u
///     auto [y, dy] = fwd::unpack_dual(f(d));     // f(x) and J_f(x) u
///   }
///
/// Every built-in op propagates tangents; a Function<T> needs a
/// `static std::vector<Tensor> jvp(Context&, const std::vector<Tensor>& tangents)`
/// (one tangent per Tensor argument of forward, undefined where that input has
/// none; one per output returned) or forward mode through it throws. Tangents
/// are differentiable in reverse mode (forward-over-reverse). In-place ops do not
/// update tangents.
namespace forward_ad {

/// While alive, tangents given by make_dual propagate through ops; when it ends
/// they are gone. One level at a time (a second one throws AutogradError).
class DualLevel {
 public:
  DualLevel();
  ~DualLevel();
  DualLevel(const DualLevel&) = delete;
  DualLevel& operator=(const DualLevel&) = delete;
};

/// A view of `primal` carrying `tangent` (same shape, floating dtype) at the
/// active level; differentiable in reverse mode with respect to primal.
Tensor make_dual(const Tensor& primal, const Tensor& tangent);

struct UnpackedDual {
  Tensor primal;   ///< a view of the tensor without its tangent
  Tensor tangent;  ///< undefined when the tensor carries none
};
UnpackedDual unpack_dual(const Tensor& tensor);

}  // namespace forward_ad

}  // namespace autograd

using autograd::Function;

}  // namespace xgrad
