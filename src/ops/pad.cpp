// pad as torch.nn.functional.pad. Constant padding: negative amounts crop; the
// gradient is the output's gradient padded by the opposite amounts, which crops
// what was added and puts zeros where elements were cropped. Reflect, replicate
// and circular: per padded dim, the output's positions read input positions
// (an index map), taken with detail::select_positions, whose adjoint adds the
// gradients of the copies back onto their source.

#include <algorithm>
#include <string>

#include "autograd/record.hpp"
#include "ops/elementwise.hpp"
#include "ops/indexing.hpp"
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
        return detail::trace::Call{{x}, {{"pads", pads}, {"value", value}, {"mode", std::string("constant")}}};
      });
}

namespace {

// The input position each output position of one dim reads: (size + before + after) values.
std::vector<std::int64_t> source_positions(std::string_view mode, std::int64_t size, DimPad p) {
  std::vector<std::int64_t> positions;
  for (std::int64_t o = 0; o < size + p.before + p.after; ++o) {
    const std::int64_t i = o - p.before;
    if (mode == "reflect")
      positions.push_back(i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i));
    else if (mode == "replicate")
      positions.push_back(std::clamp<std::int64_t>(i, 0, size - 1));
    else
      positions.push_back(((i % size) + size) % size);
  }
  return positions;
}

// Reflect, replicate, circular: checks the pads against the sizes PyTorch allows.
void check_mode_pads(std::string_view mode, const Tensor& x, const std::vector<DimPad>& dim_pads) {
  for (std::size_t d = 0; d < dim_pads.size(); ++d) {
    const DimPad& p = dim_pads[d];
    if (p.before == 0 && p.after == 0) continue;
    const std::int64_t size = x.shape()[d];
    if (p.before < 0 || p.after < 0)
      fail<ValueError>("pad: mode \"{}\" takes no negative padding, got ({}, {}) for dim {} (input {})", mode,
                       p.before, p.after, d, str(x.shape()));
    const bool fits = mode == "reflect"     ? p.before < size && p.after < size
                      : mode == "circular" ? p.before <= size && p.after <= size
                                           : size > 0;
    if (!fits)
      fail<ValueError>("pad: padding ({}, {}) of dim {} of size {} is too large for mode \"{}\" ({}; input {})",
                       p.before, p.after, d, size, mode,
                       mode == "reflect"    ? "each pad must be smaller than the size"
                       : mode == "circular" ? "each pad must be at most the size"
                                            : "the dim must not be empty",
                       str(x.shape()));
  }
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, std::string_view mode, double value) {
  if (mode == "constant") return pad(x, pads, value);
  if (mode != "reflect" && mode != "replicate" && mode != "circular")
    fail<ValueError>("pad: mode must be \"constant\", \"reflect\", \"replicate\" or \"circular\", got \"{}\"",
                     mode);
  if (value != 0.0)
    fail<ValueError>("pad: a value ({}) applies to mode \"constant\" only, not \"{}\"", value, mode);
  return detail::trace::traced(
      "pad",
      [&]() -> Tensor {
        detail::check_defined("pad", x);
        const std::vector<DimPad> dim_pads = per_dim_pads(x, pads);
        check_mode_pads(mode, x, dim_pads);
        Tensor out = x;
        for (std::size_t d = 0; d < dim_pads.size(); ++d)
          if (dim_pads[d].before != 0 || dim_pads[d].after != 0)
            out = detail::select_positions(out, static_cast<std::int64_t>(d),
                                           source_positions(mode, x.shape()[d], dim_pads[d]));
        return out;
      },
      [&](const detail::trace::Scope&, const Tensor&) {
        return detail::trace::Call{{x}, {{"pads", pads}, {"value", value}, {"mode", std::string(mode)}}};
      });
}

}  // namespace xgrad
