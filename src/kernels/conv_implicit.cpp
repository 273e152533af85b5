// The implicit-GEMM forward and weight-gradient convolutions over padded images
// (see conv_implicit.hpp).
//
// Work is cut into tiles of whole images of one group, side by side on the
// grid; the threads take runs of tiles. Each thread owns a padded buffer (its
// zero borders are written once, only the interiors are copied per tile) and a
// staging matrix: y as the GEMM writes it, copied to y without the dropped
// columns, or dy laid out on the grid for the weight gradient. Every element of
// y comes from one GEMM; weight gradients are summed per thread and the partial
// sums added in a fixed order. So results do not depend on scheduling.

#include "kernels/conv_implicit.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/gemm.hpp"
#include "kernels/gemm_simd.hpp"
#include "kernels/row_dots_simd.hpp"
#include "kernels/simd.hpp"
#include "util/parallel.hpp"

namespace xgrad::kernels {

namespace {

// Positions per GEMM, at least: enough to pay for packing w once per tile.
constexpr std::int64_t kMinTileWidth = 1024;
// Work (multiply-adds) below which the pass stays on the calling thread.
constexpr std::int64_t kMinParallelWork = std::int64_t{1} << 20;
// The dropped columns (grid_width - out_w per line) cost their share of the
// GEMM, i.e. y_group_channels multiply-adds per tap and dropped position;
// packing a run costs about the same per run whatever its length. Lines are
// packed one run each (compact positions, nothing dropped) when the dropped
// columns would cost more than this many multiply-adds per output position and
// tap; measured on CIFAR (64 channels at 8x8: whole images win) and ResNet-18
// (512 at 7x7: lines win) shapes.
constexpr std::int64_t kMaxDroppedWork = 32;

// Channels times taps of a weight gradient, at most, for the dot products
// (see weight_gradient_as_dots).
constexpr std::int64_t kMaxDotProducts = 4096;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Sizes of the padded, phase-split images and the grid, and how a pass is cut
// into tiles.
struct PaddedLayout {
  explicit PaddedLayout(const ConvGeometry& g)
      : x_group_channels(g.x_channels / g.groups),
        y_group_channels(g.y_channels / g.groups),
        stride_h(g.stride[1]),
        stride_w(g.stride[2]),
        phase_rows(ceil_div(padded_extent(g, 1), stride_h)),
        grid_width(ceil_div(padded_extent(g, 2), stride_w)),
        phase_plane(phase_rows * grid_width),
        plane(stride_h * stride_w * phase_plane),
        compact((grid_width - g.out[2]) * y_group_channels > kMaxDroppedWork * g.out[2]),
        line_stride(compact ? g.out[2] : grid_width),
        positions((g.out[1] - 1) * line_stride + g.out[2]),
        run_length(compact ? g.out[2] : positions),
        runs_per_image(compact ? g.out[1] : 1),
        taps(x_group_channels * g.kernel[1] * g.kernel[2]),
        images_per_tile(balanced_tile_size(g.batch, ceil_div(kMinTileWidth, positions), g.groups)),
        tiles(ceil_div(g.batch, images_per_tile) * g.groups) {
    for (std::int64_t c = 0; c < x_group_channels; ++c)
      for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw) {
          // The tap reads padded row oh * stride_h + kh * dilation_h = stride_h * (oh + u) + a, i.e. row oh + u
          // of phase a; likewise along W.
          const std::int64_t rows = kh * g.dilation[1], cols = kw * g.dilation[2];
          const std::int64_t phase = rows % stride_h * stride_w + cols % stride_w;
          tap_offsets.push_back(c * plane + phase * phase_plane + rows / stride_h * grid_width + cols / stride_w);
        }
  }

  // Rows (dim 1) or columns (dim 2) of x with its padding: enough for every tap of every output.
  static std::int64_t padded_extent(const ConvGeometry& g, int dim) {
    return std::max(g.in[dim] + g.pad[dim],
                    (g.out[dim] - 1) * g.stride[dim] + (g.kernel[dim] - 1) * g.dilation[dim] + 1);
  }

  std::int64_t x_group_channels, y_group_channels;
  std::int64_t stride_h, stride_w;
  std::int64_t phase_rows, grid_width, phase_plane;  // one phase of one channel
  std::int64_t plane;                                // one channel: its stride_h * stride_w phases
  // Output positions of an image: lines line_stride apart, grid_width (the
  // dropped columns computed) or out_w (compact); the last line not padded.
  bool compact;
  std::int64_t line_stride, positions;
  // A run: positions whose taps read contiguous runs of the padded image, a
  // whole image or (compact) one line.
  std::int64_t run_length, runs_per_image;
  std::int64_t taps;  // rows of the column matrix
  std::int64_t images_per_tile, tiles;
  std::vector<std::int64_t> tap_offsets;  // where each tap's run starts in a padded image

  std::int64_t padded_image() const { return x_group_channels * plane; }
  // Where run u of a tile (image-major) starts reading its first tap's offsets.
  const float* run_source(const float* padded, std::int64_t u) const {
    return padded + u / runs_per_image * padded_image() + u % runs_per_image * grid_width;
  }
};

// Images [image, image + images) of group `group`.
struct ImageTile {
  std::int64_t image, images, group;
};

ImageTile tile_at(const ConvGeometry& g, const PaddedLayout& l, std::int64_t index) {
  const std::int64_t image = index / g.groups * l.images_per_tile;
  return {image, std::min(l.images_per_tile, g.batch - image), index % g.groups};
}

// The tile's images, group channels only, into the interiors of `padded`:
// padded row r, column q of a channel goes to row r / stride_h, column
// q / stride_w of phase (r % stride_h, q % stride_w).
void copy_interiors(const ConvGeometry& g, const PaddedLayout& l, const float* x, const ImageTile& t, float* padded) {
  const std::int64_t x_plane = g.in[1] * g.in[2];
  for (std::int64_t i = 0; i < t.images; ++i)
    for (std::int64_t c = 0; c < l.x_group_channels; ++c) {
      const float* src = x + ((t.image + i) * g.x_channels + t.group * l.x_group_channels + c) * x_plane;
      float* channel = padded + i * l.padded_image() + c * l.plane;
      for (std::int64_t ih = 0; ih < g.in[1]; ++ih) {
        const std::int64_t r = ih + g.pad[1];
        float* row = channel + r % l.stride_h * l.stride_w * l.phase_plane + r / l.stride_h * l.grid_width;
        const float* x_row = src + ih * g.in[2];
        if (l.stride_w == 1) {
          std::copy(x_row, x_row + g.in[2], row + g.pad[2]);
        } else {
          for (std::int64_t b = 0; b < l.stride_w; ++b) {  // column j of phase b is padded column j * stride_w + b
            const std::int64_t first = ceil_div(std::max<std::int64_t>(0, g.pad[2] - b), l.stride_w);
            const std::int64_t end = ceil_div(std::max<std::int64_t>(0, g.in[2] + g.pad[2] - b), l.stride_w);
            float* phase_row = row + b * l.phase_plane;
            for (std::int64_t j = first; j < end; ++j) phase_row[j] = x_row[j * l.stride_w + b - g.pad[2]];
          }
        }
      }
    }
}

// The B packer of a tile: rows [k0, k0 + kc) of the column matrix on the padded
// grid, columns [j0, j0 + n), one run per tap and image.
void pack_tile_columns(const PaddedLayout& l, const float* padded, std::int64_t k0, std::int64_t kc, std::int64_t j0,
                       std::int64_t n, std::int64_t panel_cols, float* out) {
  const SgemmKernel& kernel = sgemm_kernel_for(simd_level());
  thread_local std::vector<const float*> rows;
  rows.resize(static_cast<std::size_t>(kc));
  for (std::int64_t u = j0 / l.run_length; u * l.run_length < j0 + n; ++u) {
    const std::int64_t start = std::max(j0, u * l.run_length), end = std::min(j0 + n, (u + 1) * l.run_length);
    const float* run = l.run_source(padded, u) + (start - u * l.run_length);
    for (std::int64_t k = 0; k < kc; ++k) rows[static_cast<std::size_t>(k)] = run + l.tap_offsets[k0 + k];
    kernel.pack_b_rows(rows.data(), kc, start - j0, end - start, out);
  }
  if (const std::int64_t tail = n % panel_cols; tail != 0) {  // zeros past column n
    float* last = out + n / panel_cols * kc * panel_cols;
    for (std::int64_t k = 0; k < kc; ++k) std::fill(last + k * panel_cols + tail, last + (k + 1) * panel_cols, 0.0f);
  }
}

// The staging matrix [y_group_channels, width] on the padded grid to y, dropping
// the columns past each line's out_w, plus bias.
void store_tile(const ConvGeometry& g, const PaddedLayout& l, const ImageTile& t, const float* staging,
                const float* bias, float* y) {
  const std::int64_t y_plane = g.out[1] * g.out[2], width = t.images * l.positions;
  for (std::int64_t i = 0; i < t.images; ++i)
    for (std::int64_t o = 0; o < l.y_group_channels; ++o) {
      const std::int64_t channel = t.group * l.y_group_channels + o;
      const float add = bias == nullptr ? 0.0f : bias[channel];
      const float* src = staging + o * width + i * l.positions;
      float* dst = y + ((t.image + i) * g.y_channels + channel) * y_plane;
      for (std::int64_t oh = 0; oh < g.out[1]; ++oh)
        for (std::int64_t ow = 0; ow < g.out[2]; ++ow) dst[oh * g.out[2] + ow] = src[oh * l.line_stride + ow] + add;
    }
}

// The tile's dy on the padded grid, [y_group_channels, ld] (ld the width of a
// full tile): only the positions inside the output are written, the dropped
// columns keep the zeros the buffer started with, so they add nothing to dw.
void stage_gradient(const ConvGeometry& g, const PaddedLayout& l, const float* dy, const ImageTile& t, float* staged,
                    std::int64_t ld) {
  const std::int64_t y_plane = g.out[1] * g.out[2];
  for (std::int64_t i = 0; i < t.images; ++i)
    for (std::int64_t o = 0; o < l.y_group_channels; ++o) {
      const float* src = dy + ((t.image + i) * g.y_channels + t.group * l.y_group_channels + o) * y_plane;
      float* dst = staged + o * ld + i * l.positions;
      for (std::int64_t oh = 0; oh < g.out[1]; ++oh)
        std::copy(src + oh * g.out[2], src + (oh + 1) * g.out[2], dst + oh * l.line_stride);
    }
}

// The B packer of a tile's weight gradient: the transposed column matrix,
// rows [k0, k0 + kc) (positions), columns [j0, j0 + n) (taps), each tap's
// entries one run of the padded images per image.
void pack_tile_columns_transposed(const PaddedLayout& l, const float* padded, std::int64_t k0, std::int64_t kc,
                                  std::int64_t j0, std::int64_t n, float* out) {
  const SgemmKernel& kernel = sgemm_kernel_for(simd_level());
  thread_local std::vector<const float*> columns;
  columns.resize(static_cast<std::size_t>(n));
  for (std::int64_t u = k0 / l.run_length; u * l.run_length < k0 + kc; ++u) {
    const std::int64_t start = std::max(k0, u * l.run_length), end = std::min(k0 + kc, (u + 1) * l.run_length);
    const float* run = l.run_source(padded, u) + (start - u * l.run_length);
    for (std::int64_t j = 0; j < n; ++j) columns[static_cast<std::size_t>(j)] = run + l.tap_offsets[j0 + j];
    kernel.pack_b_columns(columns.data(), n, kc, start - k0, end - start, out);
  }
}

// Whether a tile's weight gradient is cheaper as dot products of dy's rows with
// the taps' runs (row_dots_simd.hpp) than as a GEMM, whose B panels are the
// column matrix transposed: with few channels times taps the GEMM's tiles are
// mostly edge and the transposition dominates. Needs one run per image (the
// dots stride over whole images). Measured at 1 thread on the CIFAR rows of
// bench_kernels: 16 x 27 and 16 x 144 products 10-70 % faster as dots,
// 32 x 144 and larger 3-25 % slower.
bool weight_gradient_as_dots(const PaddedLayout& l) {
  return !l.compact && l.y_group_channels * l.taps <= kMaxDotProducts;
}

// dw_g [channels, taps] += the tile's dy_g [channels, positions] (staged, ld)
// times each tap's runs of the padded images.
void add_weight_dots(const PaddedLayout& l, const float* padded, const float* staged, std::int64_t ld,
                     std::int64_t images, float* dw_group) {
  thread_local std::vector<const float*> runs;
  runs.resize(static_cast<std::size_t>(l.taps));
  for (std::int64_t tap = 0; tap < l.taps; ++tap) runs[static_cast<std::size_t>(tap)] = padded + l.tap_offsets[tap];
  simd_call(RowDotsKernel{}, RowDots{.a = staged,
                                     .rows = l.y_group_channels,
                                     .lda = ld,
                                     .a_image = l.positions,
                                     .b = runs.data(),
                                     .columns = l.taps,
                                     .b_image = l.padded_image(),
                                     .images = images,
                                     .length = l.positions,
                                     .c = dw_group,
                                     .ldc = l.taps});
}

// Per-thread buffers of a pass: the padded images (zero borders) and a staging
// matrix (y or dy on the padded grid), both zeroed once.
struct ImplicitScratch {
  explicit ImplicitScratch(const PaddedLayout& l)
      : padded(std::make_unique<float[]>(static_cast<std::size_t>(l.images_per_tile * l.padded_image()))),
        staging(
            std::make_unique<float[]>(static_cast<std::size_t>(l.y_group_channels * l.images_per_tile * l.positions))) {
  }
  std::unique_ptr<float[]> padded, staging;
};

}  // namespace

bool implicit_conv_fits(const ConvGeometry& g) {
  const bool two_d = is_two_d(g);
  // A 1x1 convolution with stride 1 and no padding reads x in place in im2col.cpp.
  const bool in_place =
      g.kernel[1] == 1 && g.kernel[2] == 1 && g.pad[1] == 0 && g.pad[2] == 0 && g.stride[1] == 1 && g.stride[2] == 1;
  const bool padding_before = g.pad[1] >= 0 && g.pad[2] >= 0;  // the padded copy starts at the padding
  return two_d && !in_place && padding_before && g.batch > 0;
}

void conv_forward_implicit(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) {
  const PaddedLayout l(g);
  const std::int64_t work = l.y_group_channels * l.taps * l.images_per_tile * l.positions;
  const std::int64_t grain = std::max<std::int64_t>(1, kMinParallelWork / std::max<std::int64_t>(1, work));
  detail::parallel_for(0, l.tiles, grain, [&](std::int64_t begin, std::int64_t end) {
    const ImplicitScratch scratch(l);
    float* padded = scratch.padded.get();
    float* staging = scratch.staging.get();
    for (std::int64_t index = begin; index < end; ++index) {
      const ImageTile t = tile_at(g, l, index);
      copy_interiors(g, l, x, t, padded);
      const BPacker pack = [&](std::int64_t k0, std::int64_t kc, std::int64_t j0, std::int64_t n,
                               std::int64_t panel_cols,
                               float* out) { pack_tile_columns(l, padded, k0, kc, j0, n, panel_cols, out); };
      // staging [channels, positions] = w_g [channels, taps] · columns [taps, positions]
      const float* w_group = w + t.group * l.y_group_channels * l.taps;
      const std::int64_t width = t.images * l.positions;
      gemm_packing_b(false, l.y_group_channels, width, l.taps, 1.0f, w_group, l.taps, pack, 0.0f, staging, width);
      store_tile(g, l, t, staging, bias, y);
    }
  });
}

void conv_backward_weight_implicit(const ConvGeometry& g, const float* dy, const float* x, float* dw) {
  const PaddedLayout l(g);
  const std::int64_t ld = l.images_per_tile * l.positions;  // of the staged dy
  const std::int64_t work = l.y_group_channels * l.taps * ld;
  const std::int64_t grain = std::max<std::int64_t>(1, kMinParallelWork / std::max<std::int64_t>(1, work));
  // dw summed over the tiles, per thread chunk.
  const auto add_tiles = [&](std::int64_t begin, std::int64_t end, float* sums) {
    const ImplicitScratch scratch(l);
    for (std::int64_t index = begin; index < end; ++index) {
      const ImageTile t = tile_at(g, l, index);
      copy_interiors(g, l, x, t, scratch.padded.get());
      stage_gradient(g, l, dy, t, scratch.staging.get(), ld);
      float* dw_group = sums + t.group * l.y_group_channels * l.taps;
      if (weight_gradient_as_dots(l)) {
        add_weight_dots(l, scratch.padded.get(), scratch.staging.get(), ld, t.images, dw_group);
        continue;
      }
      const BPacker pack = [&](std::int64_t k0, std::int64_t kc, std::int64_t j0, std::int64_t n, std::int64_t,
                               float* out) {
        pack_tile_columns_transposed(l, scratch.padded.get(), k0, kc, j0, n, out);
      };
      // dw_g [channels, taps] += dy_g [channels, positions] · columnsᵀ [positions, taps]
      gemm_packing_b(false, l.y_group_channels, l.taps, t.images * l.positions, 1.0f, scratch.staging.get(), ld, pack,
                     1.0f, dw_group, l.taps);
    }
  };
  detail::parallel_sum(l.tiles, grain, g.y_channels * l.taps, dw, add_tiles);
}

}  // namespace xgrad::kernels
