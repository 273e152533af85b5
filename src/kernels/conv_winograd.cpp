// The Winograd F(2x2, 3x3) forward convolution and weight gradient (see
// conv_winograd.hpp).
//
// The output is cut into 2x2 tiles, tile_rows x tile_cols per image, and the
// tile rows of the whole batch into equal blocks (balanced_tile_size). The
// threads take runs of blocks. Forward: a thread transforms the block's input
// tiles into V (16 matrices [x_channels, tiles]), runs the 16 GEMMs into M (16
// matrices [y_channels, tiles]) and transforms M back into y; the transformed
// weights U are made once per call and shared. Each y element comes from one
// GEMM per ξ on any thread count, so results do not depend on scheduling.
// Weight gradient: V as above, the output gradient's tiles transformed into
// M's buffer, and dU += D · Vᵀ summed per thread chunk, the chunks added in a
// fixed order before the 4x4 -> 3x3 transform back.
//
// The transforms (Lavin and Gray's matrices):
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   V = Bᵀ d B
//   G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]             U = G g Gᵀ
//   Aᵀ = [1 1 1 0; 0 1 -1 -1]                      Y = Aᵀ M A
// An input tile's columns are read as the even and odd columns of its rows,
// split once per tile row, so every transform loop runs at unit stride over
// the tiles of a row.

#include "kernels/conv_winograd.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "kernels/gemm.hpp"
#include "kernels/simd.hpp"
#include "kernels/winograd_simd.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"

namespace xgrad::kernels {

namespace {

constexpr std::int64_t kElements = 16;  // of a transformed 4x4 tile: one GEMM each
// Channels on each side, at least: with fewer, the GEMMs' depth (x channels) or
// rows (y channels) are too few for the transforms to pay (bench_kernels, 1
// thread: 16->16 at 32x32 3-5 % slower than direct, 32->32 at 16x16 7 %
// faster; the weight gradient of 32->32 at 16x16 12 % slower).
constexpr std::int64_t kMinChannels = 32;
constexpr std::int64_t kMinGradientChannels = 64;
// Output columns, at least: the transforms run across the tiles of a row, and
// 7x7 or 8x8 maps (4 tiles a row) left most of their vectors empty.
constexpr std::int64_t kMinOutputWidth = 13;
// Floats of V and M per element ξ, about, in a block (4 MiB for all 16):
// measured at 2 threads on ResNet-18's 3x3 layers, 2^16 was 5-20 % faster
// than 2^17 and as fast as 2^15, and AlexNet's training peak 8 MiB lower.
constexpr std::int64_t kBlockFloats = std::int64_t{1} << 16;
constexpr std::int64_t kMinBlockTiles = 48;  // one GEMM register panel

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

struct WinogradLayout {
  explicit WinogradLayout(const ConvGeometry& g)
      : tile_rows(ceil_div(g.out[1], 2)), tile_cols(ceil_div(g.out[2], 2)), batch_rows(g.batch * tile_rows) {
    const std::int64_t wanted_tiles = std::max(kMinBlockTiles, kBlockFloats / (g.x_channels + g.y_channels));
    rows_per_block = balanced_tile_size(batch_rows, wanted_tiles / tile_cols);
    block_count = ceil_div(batch_rows, rows_per_block);
    block_tiles = rows_per_block * tile_cols;
    ld = block_tiles + kWinogradSlack;
  }

  std::int64_t tile_rows, tile_cols;  // of one image
  std::int64_t batch_rows;            // tile rows of the whole batch
  std::int64_t rows_per_block = 0, block_count = 0, block_tiles = 0;
  std::int64_t ld = 0;  // between rows of V and M: a block's tiles and the transforms' slack
  std::int64_t phase_stride = tile_cols + 1 + kWinogradSlack, out_stride = tile_cols + kWinogradSlack;

  // Tile row `row` of the batch: its image and its tile row th in that image.
  struct TileRow {
    std::int64_t image, th;
  };
  TileRow tile_row(std::int64_t row) const { return {row / tile_rows, row % tile_rows}; }
};

// fn(o, c) for every kernel (channel pair), split over the threads by y channel.
template <class F>
void for_each_kernel(const ConvGeometry& g, F fn) {
  const std::int64_t O = g.y_channels, C = g.x_channels;
  detail::parallel_for(0, O, std::max<std::int64_t>(1, 4096 / C), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t o = begin; o < end; ++o)
      for (std::int64_t c = 0; c < C; ++c) fn(o, c);
  });
}

// U [16][y_channels][x_channels] = G g Gᵀ for every kernel g, in a buffer kept
// per calling thread (a fresh one cost its page faults on every call).
const float* transformed_weights(const ConvGeometry& g, const float* w) {
  thread_local std::vector<float> u;
  const std::int64_t O = g.y_channels, C = g.x_channels;
  u.resize(static_cast<std::size_t>(kElements * O * C));
  float* out = u.data();  // the workers' own `u` would be another thread's variable
  for_each_kernel(g, [&](std::int64_t o, std::int64_t c) {
    const float* k = w + (o * C + c) * 9;
    float gg[4][3];  // G g
    for (int j = 0; j < 3; ++j) {
      gg[0][j] = k[j];
      gg[1][j] = 0.5f * (k[j] + k[3 + j] + k[6 + j]);
      gg[2][j] = 0.5f * (k[j] - k[3 + j] + k[6 + j]);
      gg[3][j] = k[6 + j];
    }
    for (int i = 0; i < 4; ++i) {
      const float row[4] = {gg[i][0], 0.5f * (gg[i][0] + gg[i][1] + gg[i][2]), 0.5f * (gg[i][0] - gg[i][1] + gg[i][2]),
                            gg[i][2]};
      for (int j = 0; j < 4; ++j) out[((4 * i + j) * O + o) * C + c] = row[j];
    }
  });
  return out;
}

// One thread's buffers, kept per thread across calls (their contents are
// never read before written, but for the transforms' slack, whose lanes are
// dropped): V and M of a block (rows ld = block_tiles + slack apart), the even
// and odd columns of the four input rows of a tile row, and the four outputs of
// each tile of a tile row.
struct WinogradScratch {
  float *v, *m, *phases, *out;
};

WinogradScratch thread_scratch(const ConvGeometry& g, const WinogradLayout& l) {
  thread_local std::vector<float> buffer;
  const std::int64_t v = kElements * g.x_channels * l.ld, m = kElements * g.y_channels * l.ld;
  buffer.resize(static_cast<std::size_t>(v + m + 8 * l.phase_stride + 4 * l.out_stride));
  float* data = buffer.data();
  return {data, data + v, data + v + m, data + v + m + 8 * l.phase_stride};
}

// even[k] = row[2k - pad], odd[k] = row[2k + 1 - pad] for k < n, zero where
// that falls outside the row's `width` entries (or everywhere when row is null).
void split_row(const float* row, std::int64_t width, std::int64_t pad, std::int64_t n, float* even, float* odd) {
  if (row == nullptr) {
    std::fill(even, even + n, 0.0f);
    std::fill(odd, odd + n, 0.0f);
    return;
  }
  const auto at = [&](std::int64_t i) { return i >= 0 && i < width ? row[i] : 0.0f; };
  // Columns k whose two entries are both inside the row take the branch-free loop.
  const std::int64_t first = std::min(n, (pad + 1) / 2);
  const std::int64_t last = std::clamp((width + pad) / 2, first, n);  // 2k + 1 - pad < width
  for (std::int64_t k = 0; k < first; ++k) {
    even[k] = at(2 * k - pad);
    odd[k] = at(2 * k + 1 - pad);
  }
  const float* pair = row + 2 * first - pad;
  for (std::int64_t k = first; k < last; ++k, pair += 2) {
    even[k] = pair[0];
    odd[k] = pair[1];
  }
  for (std::int64_t k = last; k < n; ++k) {
    even[k] = at(2 * k - pad);
    odd[k] = at(2 * k + 1 - pad);
  }
}

// Input rows 2 th - pad + i (i < 4) of a plane, split into even and odd padded
// columns: phases[2i * stride + k] = row[2k - pad_w], phases[(2i + 1) * stride + k]
// = row[2k + 1 - pad_w], zero outside the row.
void split_rows(const ConvGeometry& g, const WinogradLayout& l, const float* plane, std::int64_t th, float* phases) {
  for (std::int64_t i = 0; i < 4; ++i) {
    const std::int64_t ih = 2 * th - g.pad[1] + i;
    float* even = phases + 2 * i * l.phase_stride;
    split_row(ih >= 0 && ih < g.in[1] ? plane + ih * g.in[2] : nullptr, g.in[2], g.pad[2], l.tile_cols + 1, even,
              even + l.phase_stride);
  }
}

// The outputs of a tile row (out[(2a + b) * stride + tw]: row a, column b of
// tile tw) into y's rows 2 th and 2 th + 1, clipped to the output.
void store_outputs(const ConvGeometry& g, const WinogradLayout& l, const float* out, std::int64_t th, float* y_plane) {
  for (std::int64_t a = 0; a < 2 && 2 * th + a < g.out[1]; ++a) {
    const float* even = out + 2 * a * l.out_stride;
    const float* odd = even + l.out_stride;
    float* row = y_plane + (2 * th + a) * g.out[2];
    const std::int64_t pairs = g.out[2] / 2;
    for (std::int64_t j = 0; j < pairs; ++j) {
      row[2 * j] = even[j];
      row[2 * j + 1] = odd[j];
    }
    if (g.out[2] % 2 != 0) row[2 * pairs] = even[pairs];
  }
}

// V of the block's tile rows [first_row, first_row + rows). A tile row's
// vectors past its end spill into the next row's tiles, which that row
// overwrites (rows go in order), or into the slack.
void transform_inputs(const ConvGeometry& g, const WinogradLayout& l, const float* x, std::int64_t first_row,
                      std::int64_t rows, const WinogradScratch& scratch) {
  const std::int64_t C = g.x_channels, x_plane = g.in[1] * g.in[2];
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t r = 0; r < rows; ++r) {
      const auto [image, th] = l.tile_row(first_row + r);
      split_rows(g, l, x + (image * C + c) * x_plane, th, scratch.phases);
      simd_call(WinogradInputKernel{}, scratch.phases, l.phase_stride, l.tile_cols,
                scratch.v + c * l.ld + r * l.tile_cols, C * l.ld);
    }
}

// Rows 2 th and 2 th + 1 of a dy plane, split into even and odd columns:
// out[(2a + b) * stride + k] = dy[2 th + a][2k + b], zero outside dy.
void split_gradient_rows(const ConvGeometry& g, const WinogradLayout& l, const float* plane, std::int64_t th,
                         float* out) {
  for (std::int64_t a = 0; a < 2; ++a) {
    float* even = out + 2 * a * l.out_stride;
    split_row(2 * th + a < g.out[1] ? plane + (2 * th + a) * g.out[2] : nullptr, g.out[2], 0, l.tile_cols, even,
              even + l.out_stride);
  }
}

// dw [O, C, 3, 3] = Gᵀ dU G for every channel pair, dU [16][O][C].
void transform_weight_gradient(const ConvGeometry& g, const float* du, float* dw) {
  const std::int64_t O = g.y_channels, C = g.x_channels;
  for_each_kernel(g, [&](std::int64_t o, std::int64_t c) {
    float m[4][4];
    for (int e = 0; e < 16; ++e) m[e / 4][e % 4] = du[(e * O + o) * C + c];
    float r[3][4];  // Gᵀ dU
    for (int j = 0; j < 4; ++j) {
      r[0][j] = m[0][j] + 0.5f * (m[1][j] + m[2][j]);
      r[1][j] = 0.5f * (m[1][j] - m[2][j]);
      r[2][j] = 0.5f * (m[1][j] + m[2][j]) + m[3][j];
    }
    float* k = dw + (o * C + c) * 9;
    for (int i = 0; i < 3; ++i) {
      k[3 * i + 0] = r[i][0] + 0.5f * (r[i][1] + r[i][2]);
      k[3 * i + 1] = 0.5f * (r[i][1] - r[i][2]);
      k[3 * i + 2] = 0.5f * (r[i][1] + r[i][2]) + r[i][3];
    }
  });
}

std::atomic<bool>& winograd_switch() {
  static std::atomic<bool> enabled{[] {
    const char* env = std::getenv("XGRAD_WINOGRAD");
    if (env == nullptr || std::string_view(env) == "1") return true;
    if (std::string_view(env) == "0") return false;
    detail::logger().warn("XGRAD_WINOGRAD={} is not 0 or 1; ignored", env);
    return true;
  }()};
  return enabled;
}

}  // namespace

bool winograd_enabled() { return winograd_switch().load(std::memory_order_relaxed); }

bool set_winograd_enabled(bool enabled) { return winograd_switch().exchange(enabled); }

bool winograd_weight_gradient_fits(const ConvGeometry& g) {
  return winograd_conv_fits(g) && g.x_channels >= kMinGradientChannels && g.y_channels >= kMinGradientChannels;
}

bool winograd_conv_fits(const ConvGeometry& g) {
  const bool two_d = is_two_d(g);
  const bool three_by_three = g.kernel[1] == 3 && g.kernel[2] == 3;
  const bool unit = g.stride[1] == 1 && g.stride[2] == 1 && g.dilation[1] == 1 && g.dilation[2] == 1;
  const bool padding = g.pad[1] >= 0 && g.pad[2] >= 0;
  return winograd_enabled() && two_d && three_by_three && unit && padding && g.groups == 1 && g.batch > 0 &&
         g.x_channels >= kMinChannels && g.y_channels >= kMinChannels && g.out[2] >= kMinOutputWidth;
}

void conv_forward_winograd(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) {
  const WinogradLayout l(g);
  const float* u = transformed_weights(g, w);
  const std::int64_t C = g.x_channels, O = g.y_channels, ld = l.ld, y_plane = g.out[1] * g.out[2];
  detail::parallel_for(0, l.block_count, 1, [&](std::int64_t begin, std::int64_t end) {
    const WinogradScratch scratch = thread_scratch(g, l);
    for (std::int64_t block = begin; block < end; ++block) {
      const std::int64_t first_row = block * l.rows_per_block;
      const std::int64_t rows = std::min(l.rows_per_block, l.batch_rows - first_row);
      transform_inputs(g, l, x, first_row, rows, scratch);
      // M_ξ [O, tiles] = U_ξ [O, C] · V_ξ [C, tiles]
      const std::int64_t tiles = rows * l.tile_cols;
      for (std::int64_t e = 0; e < kElements; ++e)
        gemm<float>(false, false, O, tiles, C, 1.0f, u + e * O * C, C, scratch.v + e * C * ld, ld, 0.0f,
                    scratch.m + e * O * ld, ld);
      for (std::int64_t o = 0; o < O; ++o)
        for (std::int64_t r = 0; r < rows; ++r) {
          const auto [image, th] = l.tile_row(first_row + r);
          simd_call(WinogradOutputKernel{}, scratch.m + o * ld + r * l.tile_cols, O * ld, l.tile_cols,
                    bias == nullptr ? 0.0f : bias[o], scratch.out, l.out_stride);
          store_outputs(g, l, scratch.out, th, y + (image * O + o) * y_plane);
        }
    }
  });
}

void conv_backward_weight_winograd(const ConvGeometry& g, const float* dy, const float* x, float* dw) {
  const WinogradLayout l(g);
  const std::int64_t C = g.x_channels, O = g.y_channels, ld = l.ld, y_plane = g.out[1] * g.out[2];
  // dU [16][O][C] summed over the blocks, per thread chunk.
  const auto add_blocks = [&](std::int64_t begin, std::int64_t end, float* sums) {
    const WinogradScratch scratch = thread_scratch(g, l);
    for (std::int64_t block = begin; block < end; ++block) {
      const std::int64_t first_row = block * l.rows_per_block;
      const std::int64_t rows = std::min(l.rows_per_block, l.batch_rows - first_row);
      transform_inputs(g, l, x, first_row, rows, scratch);
      // D_ξ [O, tiles] = (A e Aᵀ)_ξ, in M's buffer; rows spill forwards as V's do.
      for (std::int64_t o = 0; o < O; ++o)
        for (std::int64_t r = 0; r < rows; ++r) {
          const auto [image, th] = l.tile_row(first_row + r);
          split_gradient_rows(g, l, dy + (image * O + o) * y_plane, th, scratch.out);
          simd_call(WinogradGradientKernel{}, scratch.out, l.out_stride, l.tile_cols,
                    scratch.m + o * ld + r * l.tile_cols, O * ld);
        }
      // dU_ξ [O, C] += D_ξ [O, tiles] · V_ξᵀ [tiles, C]
      const std::int64_t tiles = rows * l.tile_cols;
      for (std::int64_t e = 0; e < kElements; ++e)
        gemm<float>(false, true, O, C, tiles, 1.0f, scratch.m + e * O * ld, ld, scratch.v + e * C * ld, ld, 1.0f,
                    sums + e * O * C, C);
    }
  };
  std::vector<float> du(static_cast<std::size_t>(kElements * O * C));
  detail::parallel_sum(l.block_count, 1, kElements * O * C, du.data(), add_blocks);
  transform_weight_gradient(g, du.data(), dw);
}

}  // namespace xgrad::kernels
