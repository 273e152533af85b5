// Forward mode: dual levels, make_dual / unpack_dual, and tangent propagation.
//
// A tensor's tangent lives in its TensorImpl, stamped with the dual level it
// belongs to; it counts only while that level is the active one. An op whose
// inputs carry tangents records a node as for reverse mode (detail::record and
// Function<T>::apply), and propagate_tangents asks the node for its outputs'
// tangents (Node::jvp). Gradients (the engine) and the jvps themselves run with
// forward mode suspended, so a tangent never half-propagates through a backward.

#include <atomic>

#include "autograd/grad_mode.hpp"
#include "autograd/record.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "xgrad/ops/arithmetic.hpp"
#include "xgrad/ops/reduction.hpp"

namespace xgrad::autograd {

using xgrad::detail::fail;
using xgrad::detail::str;

namespace {

std::atomic<std::uint64_t> active_level{0};  // 0: no dual level
std::atomic<std::uint64_t> last_level{0};
thread_local int suspended = 0;

// The tangent of t at the active level (undefined when none).
Tensor tangent_of(const Tensor& t) {
  if (!t.defined()) return Tensor();
  const auto& impl = *t.impl();
  const std::uint64_t level = active_level.load(std::memory_order_relaxed);
  return level != 0 && impl.tangent_level == level ? impl.tangent : Tensor();
}

void set_tangent(const Tensor& t, Tensor tangent) {
  t.impl()->tangent = std::move(tangent);
  t.impl()->tangent_level = active_level.load(std::memory_order_relaxed);
}

}  // namespace

namespace detail {

ForwardSuspended::ForwardSuspended() { ++suspended; }
ForwardSuspended::~ForwardSuspended() { --suspended; }

bool needs_forward(const std::vector<Tensor>& inputs) {
  if (suspended > 0 || active_level.load(std::memory_order_relaxed) == 0) return false;
  for (const Tensor& t : inputs)
    if (tangent_of(t).defined()) return true;
  return false;
}

bool has_tangent(const Tensor& t) { return suspended == 0 && tangent_of(t).defined(); }

void propagate_tangents(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
                        std::vector<Tensor>& outputs) {
  std::vector<Tensor> tangents;
  tangents.reserve(inputs.size());
  for (const Tensor& t : inputs) tangents.push_back(tangent_of(t));
  std::vector<Tensor> out;
  {
    ForwardSuspended no_forward;
    out = node->jvp(tangents);
  }
  if (out.size() != outputs.size())
    fail<AutogradError>("{}: jvp returned {} tangents for {} outputs", node->name(), out.size(), outputs.size());
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    if (!out[k].defined()) continue;
    if (out[k].shape() != outputs[k].shape() || out[k].dtype() != outputs[k].dtype())
      fail<AutogradError>("{}: jvp returned a tangent of shape {} and dtype {} for output {} of shape {} and dtype {}",
                          node->name(), str(out[k].shape()), dtype_name(out[k].dtype()), k, str(outputs[k].shape()),
                          dtype_name(outputs[k].dtype()));
    set_tangent(outputs[k], out[k]);
  }
}

void throw_no_jvp(const std::string& op) {
  fail<AutogradError>(
      "{}: forward mode (a tangent from make_dual reached it) needs a jvp: declare "
      "static std::vector<Tensor> jvp(Context&, const std::vector<Tensor>& tangents) in the Function",
      op);
}

}  // namespace detail

// J u = d/dv <Jᵀ v, u>: the backward is linear in v, so its derivative in v,
// taken at v = 0 against the input tangents, is the forward derivative. With
// grad mode on, the tangents keep their graph (reverse-over-forward).
std::vector<Tensor> Node::jvp(const std::vector<Tensor>& input_tangents) {
  if (once_differentiable())
    fail<AutogradError>("{}: forward mode is not available, since its backward is once differentiable", name());
  const bool keep_graph = is_grad_enabled();
  xgrad::detail::GradModeGuard on(true);
  std::vector<Tensor> v;
  for (const TensorMeta& meta : output_meta()) v.push_back(zeros(meta.shape, {.dtype = meta.dtype, .requires_grad = true}));
  std::vector<Tensor> grads;
  {
    detail::RunningNode running(shared_from_this());
    grads = apply(std::vector<Tensor>(v));
  }
  Tensor pairing;
  for (std::size_t i = 0; i < input_tangents.size() && i < grads.size(); ++i) {
    if (!input_tangents[i].defined() || !grads[i].defined()) continue;
    const Tensor term = sum(mul(grads[i], input_tangents[i]));
    pairing = pairing.defined() ? pairing + term : term;
  }
  std::vector<Tensor> tangents(v.size());
  if (pairing.defined() && pairing.requires_grad())
    // retain_graph: the pairing's graph reaches the forward graph's saved tensors.
    tangents = grad({pairing}, v, {}, {.retain_graph = true, .create_graph = keep_graph, .allow_unused = true});
  for (std::size_t k = 0; k < tangents.size(); ++k)
    if (!tangents[k].defined()) tangents[k] = zeros(output_meta()[k].shape, {.dtype = output_meta()[k].dtype});
  return tangents;
}

namespace forward_ad {

DualLevel::DualLevel() {
  const std::uint64_t level = last_level.fetch_add(1) + 1;
  std::uint64_t none = 0;
  if (!active_level.compare_exchange_strong(none, level))
    fail<AutogradError>("forward_ad::DualLevel: a dual level is already active; nested levels are not supported");
}

DualLevel::~DualLevel() { active_level.store(0); }

Tensor make_dual(const Tensor& primal, const Tensor& tangent) {
  xgrad::detail::check_defined("make_dual", primal);
  xgrad::detail::check_defined("make_dual", tangent, "tangent");
  if (active_level.load() == 0)
    fail<AutogradError>("make_dual: no dual level is active; create a forward_ad::DualLevel first");
  if (tangent.shape() != primal.shape())
    fail<ShapeError>("make_dual: tangent has shape {} but the primal has shape {}", str(tangent.shape()),
                     str(primal.shape()));
  if (tangent.dtype() != primal.dtype() || !is_floating(primal.dtype()))
    fail<DTypeError>("make_dual: primal ({}) and tangent ({}) must share one floating dtype",
                     dtype_name(primal.dtype()), dtype_name(tangent.dtype()));
  Tensor dual = xgrad::detail::make_view(primal, primal.shape(), primal.strides(), primal.storage_offset());
  detail::ForwardSuspended no_forward;  // the tangent is set below, not derived
  if (autograd::detail::needs_reverse({primal}))
    dual = xgrad::detail::record("MakeDualBackward", {primal}, dual,
                                 [](const xgrad::detail::BackwardArgs& args) { return std::vector<Tensor>{args.grad()}; });
  set_tangent(dual, tangent);
  return dual;
}

UnpackedDual unpack_dual(const Tensor& tensor) {
  xgrad::detail::check_defined("unpack_dual", tensor);
  UnpackedDual out;
  out.tangent = tangent_of(tensor);
  if (!out.tangent.defined()) {
    out.primal = tensor;
    return out;
  }
  // A view of the same values and graph, without the tangent.
  out.primal = tensor.detach();
  detail::ForwardSuspended no_forward;
  if (autograd::detail::needs_reverse({tensor}))
    out.primal = xgrad::detail::record("UnpackDualBackward", {tensor}, out.primal,
                                       [](const xgrad::detail::BackwardArgs& args) { return std::vector<Tensor>{args.grad()}; });
  out.primal.impl()->tangent = Tensor();
  return out;
}

}  // namespace forward_ad

}  // namespace xgrad::autograd
