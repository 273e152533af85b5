#pragma once
/// \file functional.hpp
/// Function transforms on top of the tape, as torch.autograd.functional:
///
///   namespace fn = xgrad::autograd::functional;
///   Tensor g  = fn::vjp(f, x, v);       // vᵀ J, shaped like x
///   Tensor t  = fn::jvp(f, x, u);       // J u, shaped like f(x) (forward mode)
///   Tensor J  = fn::jacobian(f, x);     // f(x).shape ++ x.shape
///   Tensor H  = fn::hessian(f, x);      // scalar f: x.shape ++ x.shape
///   Tensor hv = fn::hvp(f, x, v);       // H v, shaped like x
///   Tensor vh = fn::vhp(f, x, v);       // vᵀ H, shaped like x
///
/// Each has a twin for functions of several tensors. Inputs are used as they
/// are but never modified; results do not require grad unless
/// `.create_graph = true`, which makes them differentiable (in the inputs, when
/// those require grad). Costs, for x of n elements and f(x) of m:
///   vjp: one forward + one backward;  jvp: one forward in forward mode (each op
///   costs about three of its backwards, see Node::jvp);
///   jacobian: m backwards, or with forward_mode n jvps;
///   hessian: one backward with create_graph + n backwards (reverse over
///   reverse), or with forward_mode n jvps + n backwards (reverse over forward);
///   hvp: a jvp + a backward (reverse over forward); vhp: two backwards.

#include <functional>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad::autograd::functional {

/// Declared in this order: `{.create_graph = true, .forward_mode = true}`.
struct FunctionalOptions {
  bool create_graph = false;  ///< results differentiable again
  bool forward_mode = false;  ///< jacobian, hessian: columns by jvps instead of rows by backwards
};

using Function1 = std::function<Tensor(const Tensor&)>;
using FunctionN = std::function<Tensor(const std::vector<Tensor>&)>;

Tensor vjp(const Function1& f, const Tensor& x, const Tensor& v, FunctionalOptions options = {});
/// One vᵀ J_i per input.
std::vector<Tensor> vjp(const FunctionN& f, const std::vector<Tensor>& xs, const Tensor& v,
                        FunctionalOptions options = {});

Tensor jvp(const Function1& f, const Tensor& x, const Tensor& u, FunctionalOptions options = {});
/// sum_i J_i u_i; an undefined u_i counts as zero.
Tensor jvp(const FunctionN& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& us,
           FunctionalOptions options = {});

Tensor jacobian(const Function1& f, const Tensor& x, FunctionalOptions options = {});
/// One block per input: f(x).shape ++ xs[i].shape.
std::vector<Tensor> jacobian(const FunctionN& f, const std::vector<Tensor>& xs, FunctionalOptions options = {});

Tensor hessian(const Function1& f, const Tensor& x, FunctionalOptions options = {});
/// Blocks H[i][j] of shape xs[i].shape ++ xs[j].shape.
std::vector<std::vector<Tensor>> hessian(const FunctionN& f, const std::vector<Tensor>& xs,
                                         FunctionalOptions options = {});

Tensor hvp(const Function1& f, const Tensor& x, const Tensor& v, FunctionalOptions options = {});
std::vector<Tensor> hvp(const FunctionN& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& vs,
                        FunctionalOptions options = {});

Tensor vhp(const Function1& f, const Tensor& x, const Tensor& v, FunctionalOptions options = {});
std::vector<Tensor> vhp(const FunctionN& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& vs,
                        FunctionalOptions options = {});

}  // namespace xgrad::autograd::functional
