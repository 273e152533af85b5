#pragma once
/// \file ops/indexing.hpp
/// Indexing, selection and sorting along a dim, as torch.gather, scatter_add,
/// index_select, where, masked_fill, sort and topk. Indices are i64 tensors;
/// conditions and masks are tensors of any dtype, true where nonzero (xgrad has no
/// bool dtype). Everything is differentiable in its floating inputs, to any order:
/// gather and scatter_add are each other's adjoint, and index_select, sort, topk and
/// max / min along a dim return values gathered at their indices, so the gradient
/// reaches exactly the elements they picked.
///
///   auto [values, indices] = xgrad::topk(logits, 5);       // the 5 largest per row
///   Tensor picked = xgrad::gather(probs, 1, labels.unsqueeze(1));

#include <cstdint>

#include "xgrad/tensor.hpp"

namespace xgrad {

/// out[i][j][k] = x[i][index[i][j][k]][k] for dim = 1 (and so on): out has index's
/// shape; index has x's rank, index.size(d) <= x.size(d) for d != dim, and values in
/// [0, x.size(dim)). Gradient: scatter_add of the output gradient into zeros.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);

/// x with src[i][j][k] added at [i][index[i][j][k]][k] (dim = 1); repeated indices
/// accumulate. index has x's rank, index.size(d) <= src.size(d) for every d and
/// <= x.size(d) for d != dim; src elements outside index's shape are not read.
/// Gradients: x gets the output gradient, src the gather of it (zero where not read).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);

/// The slices of x at the positions `index` (1-D or 0-D i64) along dim; repeated
/// positions repeat (and accumulate their gradients).
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);

/// a where condition is nonzero, else b, all three broadcast together; a and b
/// share one floating dtype. Gradients flow to a where the condition holds and to
/// b elsewhere (an infinite or NaN value in the branch not taken does not leak).
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);

/// x with `value` where mask is nonzero; mask broadcasts to x's shape. The
/// gradient is zero at the filled elements.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

struct SortOptions {
  std::int64_t dim = -1;
  bool descending = false;
  /// Ties keep their input order (xgrad's sort is always stable; the option is
  /// accepted for torch.sort's signature).
  bool stable = false;
};

/// Values sorted along options.dim with the i64 positions they came from. NaN sorts
/// above every number, as PyTorch: last ascending, first descending.
ValuesIndices sort(const Tensor& x, SortOptions options = {});

struct TopkOptions {
  std::int64_t dim = -1;
  bool largest = true;  ///< false: the k smallest
  bool sorted = true;   ///< false: still sorted (allowed by torch.topk's contract)
};

/// The k largest (or smallest) values along options.dim, in order, and their
/// positions; k in [0, x.size(dim)]. Ties go to the lower position.
ValuesIndices topk(const Tensor& x, std::int64_t k, TopkOptions options = {});

/// Running sum along dim: out[..., i, ...] = sum_{j <= i} x[..., j, ...].
Tensor cumsum(const Tensor& x, std::int64_t dim);

}  // namespace xgrad
