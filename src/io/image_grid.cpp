// Image grids (torchvision's make_grid) and feature-map grids: display functions,
// plain loops, nothing recorded.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "util/check.hpp"
#include "xgrad/image.hpp"

namespace xgrad {

using detail::fail;

namespace {

// Min-max scales values[begin, end) (not empty) to [0, 1] in place, dividing by
// at least min_range (make_grid's is torchvision's 1e-5); a flat range becomes 0.
void min_max_scale(std::vector<double>& values, std::size_t begin, std::size_t end, double min_range) {
  const auto [lo, hi] = std::minmax_element(values.begin() + static_cast<std::ptrdiff_t>(begin),
                                            values.begin() + static_cast<std::ptrdiff_t>(end));
  const double low = *lo, range = *hi - low;
  for (std::size_t i = begin; i < end; ++i)
    values[i] = range > 0 ? (values[i] - low) / std::max(range, min_range) : 0.0;
}

constexpr double kTorchvisionMinRange = 1e-5;

}  // namespace

Tensor make_grid(const Tensor& images, const GridOptions& options) {
  constexpr const char* op = "make_grid";
  detail::check_defined(op, images, "images");
  detail::check_floating(op, images);
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3) || images.numel() == 0)
    fail<ShapeError>("{}: expected non-empty images [B, C, H, W] with C = 1 or 3, got {}", op,
                     detail::str(images.shape()));
  if (options.nrow < 1) fail<ValueError>("{}: nrow must be at least 1, got {}", op, options.nrow);
  if (options.padding < 0) fail<ValueError>("{}: padding must be non-negative, got {}", op, options.padding);

  const std::int64_t count = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3),
                     pad = options.padding;
  std::vector<double> values = images.to_vector<double>();
  const auto image_size = static_cast<std::size_t>(channels * height * width);
  if (options.normalize) {
    if (options.scale_each) {
      for (std::size_t k = 0; k < static_cast<std::size_t>(count); ++k)
        min_max_scale(values, k * image_size, (k + 1) * image_size, kTorchvisionMinRange);
    } else {
      min_max_scale(values, 0, values.size(), kTorchvisionMinRange);
    }
  }

  const std::int64_t columns = std::min(options.nrow, count), rows = (count + columns - 1) / columns;
  // torchvision returns a single image as it is: no padding.
  const std::int64_t grid_height = count == 1 ? height : rows * (height + pad) + pad;
  const std::int64_t grid_width = count == 1 ? width : columns * (width + pad) + pad;
  const std::int64_t top_left = count == 1 ? 0 : pad;
  std::vector<double> grid(static_cast<std::size_t>(3 * grid_height * grid_width), options.pad_value);
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t top = top_left + (k / columns) * (height + pad);
    const std::int64_t left = top_left + (k % columns) * (width + pad);
    for (std::int64_t c = 0; c < 3; ++c) {
      const std::int64_t source_channel = channels == 1 ? 0 : c;  // grey replicated to RGB
      for (std::int64_t y = 0; y < height; ++y)
        for (std::int64_t x = 0; x < width; ++x)
          grid[static_cast<std::size_t>((c * grid_height + top + y) * grid_width + left + x)] =
              values[static_cast<std::size_t>(((k * channels + source_channel) * height + y) * width + x)];
    }
  }
  return from_vector(grid, {3, grid_height, grid_width}, {.dtype = images.dtype()});
}

Tensor feature_map_grid(const Tensor& activation, std::int64_t max_maps, std::int64_t scale, std::int64_t nrow) {
  constexpr const char* op = "feature_map_grid";
  detail::check_defined(op, activation, "activation");
  detail::check_floating(op, activation);
  const bool batched = activation.dim() == 4 && activation.size(0) == 1;
  if ((!batched && activation.dim() != 3) || activation.numel() == 0)
    fail<ShapeError>("{}: expected one non-empty activation [1, C, h, w] or [C, h, w], got {}", op,
                     detail::str(activation.shape()));
  if (max_maps < 1 || scale < 1 || nrow < 1)
    fail<ValueError>("{}: max_maps, scale and nrow must be at least 1, got {}, {} and {}", op, max_maps, scale, nrow);

  const Tensor maps = batched ? activation.select(0, 0) : activation;
  const std::int64_t count = std::min(maps.size(0), max_maps), height = maps.size(1), width = maps.size(2);
  std::vector<double> values = maps.narrow(0, 0, count).to_vector<double>();
  const auto map_size = static_cast<std::size_t>(height * width);
  for (std::size_t k = 0; k < static_cast<std::size_t>(count); ++k)
    min_max_scale(values, k * map_size, (k + 1) * map_size, 0.0);
  std::vector<double> scaled(values.size() * static_cast<std::size_t>(scale * scale));
  for (std::int64_t k = 0; k < count; ++k)
    for (std::int64_t y = 0; y < height * scale; ++y)  // nearest neighbour: pixel (y / scale, x / scale)
      for (std::int64_t x = 0; x < width * scale; ++x)
        scaled[static_cast<std::size_t>(((k * height * scale) + y) * width * scale + x)] =
            values[static_cast<std::size_t>((k * height + y / scale) * width + x / scale)];
  return make_grid(from_vector(scaled, {count, 1, height * scale, width * scale}, {.dtype = activation.dtype()}),
                   {.nrow = nrow, .padding = 2, .pad_value = 1.0});
}

}  // namespace xgrad
