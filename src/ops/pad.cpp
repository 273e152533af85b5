// pad: constant padding as torch.nn.functional.pad; negative amounts crop. The
// gradient is the output's gradient padded by the opposite amounts, which crops
// what was added and puts zeros where elements were cropped.

#include <algorithm>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "xgrad/ops/shape.hpp"
#include "ops/trace.hpp"

namespace xgrad {

using detail::BackwardArgs;
using detail::fail;
using detail::str;

namespace {

// Elements added before and after one dim (negative: removed).
struct DimPad {
  std::int64_t before = 0, after = 0;
};

// pads holds (before, after) pairs from the last dim backwards; one DimPad per dim of x.
std::vector<DimPad> per_dim_pads(const Tensor& x, const std::vector<std::int64_t>& pads) {
  if (pads.size() % 2 != 0)
    fail<ValueError>("pad: pads must hold (before, after) pairs, got {} values {}", pads.size(), str(pads));
  const auto ndim = static_cast<std::size_t>(x.dim());
  if (pads.size() > 2 * ndim)
    fail<ValueError>("pad: {} pad values cover {} dims but the input {} has {}", pads.size(), pads.size() / 2,
                     str(x.shape()), ndim);
  std::vector<DimPad> result(ndim);
  for (std::size_t i = 0; i < pads.size() / 2; ++i) {
    const std::size_t d = ndim - 1 - i;
    const DimPad p{pads[2 * i], pads[2 * i + 1]};
    const std::int64_t size = x.shape()[d];
    if (size + std::min<std::int64_t>(p.before, 0) + std::min<std::int64_t>(p.after, 0) < 0)
      fail<ValueError>("pad: padding ({}, {}) crops more than the {} elements of dim {} (input {})", p.before, p.after,
                       size, d, str(x.shape()));
    result[d] = p;
  }
  return result;
}

// The block of t starting at `start` with shape `shape` (a view; not recorded).
Tensor block(const Tensor& t, const Shape& start, const Shape& shape) {
  std::int64_t offset = t.storage_offset();
  for (std::size_t d = 0; d < start.size(); ++d) offset += start[d] * t.strides()[d];
  return detail::make_view(t, shape, t.strides(), offset);
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value) {
  return detail::trace::traced(
      "pad",
      [&]() -> Tensor {
        detail::check_defined("pad", x);
        const std::vector<DimPad> dim_pads = per_dim_pads(x, pads);
        // The input elements that survive cropping, where they come from and where they go.
        Shape out_shape, kept, from, to;
        for (std::size_t d = 0; d < dim_pads.size(); ++d) {
          const DimPad& p = dim_pads[d];
          const std::int64_t size = x.shape()[d];
          out_shape.push_back(size + p.before + p.after);
          kept.push_back(size + std::min<std::int64_t>(p.before, 0) + std::min<std::int64_t>(p.after, 0));
          from.push_back(std::max<std::int64_t>(-p.before, 0));
          to.push_back(std::max<std::int64_t>(p.before, 0));
        }
        Tensor out = full(out_shape, value, {.dtype = x.dtype()});
        if (detail::shape_numel(kept) > 0)
          detail::inplace_map("pad", block(out, to, kept), block(x, from, kept), [](auto, auto v) { return v; });
        if (!detail::any_requires_grad({x})) return out;
        std::vector<std::int64_t> opposite(pads.size());
        std::transform(pads.begin(), pads.end(), opposite.begin(), [](std::int64_t p) { return -p; });
        return detail::record("PadBackward", {x}, out, [opposite](const BackwardArgs& args) {
          // grad [*out] -> [*x]
          return std::vector<Tensor>{pad(args.grad(), opposite, 0.0)};
        });
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"pads", pads}, {"value", value}}};
      });
}

}  // namespace xgrad
