#pragma once
// Internal: where linear interpolation along one dim reads its input, shared by
// the upsample ops and the Resize transform.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace xgrad::kernels {

/// Output index o along one dim reads input indices `low` and `high` (equal at
/// the border) with weights that sum to one.
template <class T>
struct LinearTap {
  std::int64_t low = 0, high = 0;
  T low_weight = 0, high_weight = 0;
};

/// PyTorch's rule (area_pixel_compute_source_index), computed in T as PyTorch
/// computes it (float for f32 tensors), so that indices and weights agree:
///   align_corners: source = o * (in - 1) / (out - 1)   (0 when out == 1)
///   otherwise:     source = max((o + 0.5) * scale - 0.5, 0), scale = in / out,
///                  or 1 / scale_factor when the caller gave one (scale_factor > 0).
/// A dim whose size does not change is copied (o reads o alone), whatever the
/// scale factor, as PyTorch's kernel short-cuts it (compute_source_index_and_lambda).
template <class T>
std::vector<LinearTap<T>> linear_taps(std::int64_t in, std::int64_t out, bool align_corners,
                                      double scale_factor = 0.0) {
  T scale;
  if (align_corners) {
    scale = out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  } else {
    scale = scale_factor > 0.0 ? static_cast<T>(1.0 / scale_factor) : static_cast<T>(in) / static_cast<T>(out);
  }
  std::vector<LinearTap<T>> taps(static_cast<std::size_t>(out));
  if (out == in) {
    for (std::int64_t o = 0; o < out; ++o) taps[static_cast<std::size_t>(o)] = {o, o, T(1), T(0)};
    return taps;
  }
  for (std::int64_t o = 0; o < out; ++o) {
    const T index = static_cast<T>(o);
    const T source = align_corners ? scale * index : std::max(scale * (index + T(0.5)) - T(0.5), T(0));
    LinearTap<T>& tap = taps[static_cast<std::size_t>(o)];
    tap.low = std::min(static_cast<std::int64_t>(source), in - 1);
    tap.high = std::min(tap.low + 1, in - 1);
    tap.high_weight = std::clamp(source - static_cast<T>(tap.low), T(0), T(1));
    tap.low_weight = T(1) - tap.high_weight;
  }
  return taps;
}

}  // namespace xgrad::kernels
