#pragma once
/// \file ops/shape.hpp
/// Views and shape changes. Views share storage with their input and gradients
/// flow through them; cat and stack copy.

#include <cstdint>
#include <string_view>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xgrad {

Tensor reshape(const Tensor& x, const Shape& shape);  ///< one -1 allowed; view when possible
Tensor view(const Tensor& x, const Shape& shape);     ///< throws if a view is impossible
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1);
Tensor permute(const Tensor& x, const Shape& dims);
Tensor squeeze(const Tensor& x);                    ///< drops every size-1 dim
Tensor squeeze(const Tensor& x, std::int64_t dim);  ///< no-op when that dim is not 1
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);  ///< -1 keeps a size; stride-0 view
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
/// Elements start, start+step, ... < end along dim (Python slicing, negative
/// start/end count from the end, clamped to the size; step >= 1).
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);  ///< removes dim
Tensor contiguous(const Tensor& x);
/// Joins along an existing dim; all other dims must agree.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
/// Joins along a new dim; all shapes must agree.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
/// Constant padding as torch.nn.functional.pad: `pads` holds (before, after)
/// pairs starting from the last dim ({left, right, top, bottom, ...}); negative
/// amounts crop.
Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value = 0.0);
/// torch.nn.functional.pad with a mode: "constant" (with `value`), "reflect"
/// (mirrored without repeating the edge; each pad < the dim's size), "replicate"
/// (the edge repeated; the dim must not be empty) or "circular" (wrapped around;
/// each pad <= the dim's size). The non-constant modes take non-negative pads,
/// for any number of trailing dims (PyTorch limits them to 1-3 dims of a 2-5-D
/// input); their gradient adds each output's gradient to the element it copies.
Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, std::string_view mode, double value = 0.0);

}  // namespace xgrad
