// Convolution through the GEMM: im2col, col2im and the three passes built on
// them (see im2col.hpp; conv.cpp decides when they run).
//
// Work is cut into tiles: a tile is a range of output lines of one image, or a
// run of whole images, of one group (Layout says which). The forward and weight
// passes split tiles over the threads, the data pass blocks of whole images
// (col2im adds a tile's columns into parts of the image that other tiles also
// touch). Each thread owns its buffers. Weight gradients are summed per thread
// and the partial sums added in a fixed order, so results do not depend on
// scheduling.

#include "kernels/im2col.hpp"

#include <algorithm>
#include <memory>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/gemm.hpp"
#include "util/parallel.hpp"
#include "xgrad/parallel.hpp"

namespace xgrad::kernels {

namespace {

// A tile's column matrix holds about this many elements (1 MiB of floats: it
// stays in cache between im2col and the GEMM) ...
constexpr std::int64_t kColumnBudget = std::int64_t{1} << 18;
// ... but at least this many columns, so that the GEMM's cost of packing w is
// spread over enough products.
constexpr std::int64_t kMinTileWidth = 512;
// Work (multiply-adds) below which a pass stays on the calling thread.
constexpr std::int64_t kMinParallelWork = std::int64_t{1} << 20;

// [lo, hi): the indices i in [0, count) for which offset + i * step lies in [0, size).
struct Span {
  std::int64_t lo, hi;
};

Span inside(std::int64_t offset, std::int64_t step, std::int64_t size, std::int64_t count) {
  const std::int64_t lo = std::min(count, offset >= 0 ? 0 : (-offset + step - 1) / step);
  const std::int64_t hi = offset > size - 1 ? 0 : (size - 1 - offset) / step + 1;
  return {lo, std::clamp(hi, lo, count)};
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Sizes derived from a geometry, and how it is cut into tiles.
struct Layout {
  explicit Layout(const ConvGeometry& g)
      : x_plane(volume(g.in)),
        y_plane(volume(g.out)),
        x_group_channels(g.x_channels / g.groups),
        y_group_channels(g.y_channels / g.groups),
        rows(x_group_channels * volume(g.kernel)),
        lines(g.out[0] * g.out[1]),
        line_width(g.out[2]) {
    const std::int64_t width = std::max(kMinTileWidth, kColumnBudget / std::max<std::int64_t>(1, rows));
    if (y_plane >= width) {  // tiles of lines of one image
      tile_lines = std::clamp(width / line_width, std::int64_t{1}, lines);
      images_per_tile = 1;
    } else {  // tiles of whole images
      tile_lines = lines;
      images_per_tile = balanced_tile_size(g.batch, width / y_plane, g.groups);
    }
    tiles_per_image = ceil_div(lines, tile_lines);
    image_blocks = ceil_div(g.batch, images_per_tile);
    const bool pointwise = volume(g.kernel) == 1 && x_plane == y_plane && volume(g.stride) == 1 && g.pad[0] == 0 &&
                           g.pad[1] == 0 && g.pad[2] == 0;
    in_place = pointwise && images_per_tile == 1;
  }

  std::int64_t x_plane, y_plane;  // spatial elements per channel
  std::int64_t x_group_channels, y_group_channels;
  std::int64_t rows;               // of the column matrix
  std::int64_t lines, line_width;  // output lines (od, oh) and their length
  std::int64_t tile_lines = 0, tiles_per_image = 0;
  std::int64_t images_per_tile = 0, image_blocks = 0;
  // 1x1, stride 1, no padding, one image per tile: x is its own column matrix.
  bool in_place = false;

  std::int64_t max_tile_width() const { return images_per_tile * tile_lines * line_width; }
};

// Images [image, image + images) of one group, output lines [line_begin,
// line_end) of each: positions [first, first + image_width) of every image,
// side by side in `width` columns.
struct Tile {
  std::int64_t image, images, group;
  std::int64_t line_begin, line_end;
  std::int64_t first, image_width, width;
};

// Tiles are numbered image block-major, then group, then line tile.
Tile tile_at(const ConvGeometry& g, const Layout& l, std::int64_t index) {
  const std::int64_t line_tile = index % l.tiles_per_image;
  const std::int64_t group = index / l.tiles_per_image % g.groups;
  const std::int64_t block = index / (l.tiles_per_image * g.groups);
  const std::int64_t image = block * l.images_per_tile, images = std::min(l.images_per_tile, g.batch - image);
  const std::int64_t line_begin = line_tile * l.tile_lines, line_end = std::min(l.lines, line_begin + l.tile_lines);
  const std::int64_t image_width = (line_end - line_begin) * l.line_width;
  return {image, images, group, line_begin, line_end, line_begin * l.line_width, image_width, images * image_width};
}

// Items per thread chunk so that a chunk holds at least kMinParallelWork.
std::int64_t grain(std::int64_t work_per_item) {
  return std::max<std::int64_t>(1, kMinParallelWork / std::max<std::int64_t>(1, work_per_item));
}

// A matrix operand: row r at data + r * ld.
template <class T>
struct Matrix {
  const T* data;
  std::int64_t ld;
};

// One thread's scratch: a column matrix and a [y_group_channels, width]
// staging matrix for tiles of several images (y or dy gathered into one matrix).
template <class T>
struct Scratch {
  explicit Scratch(const Layout& l)
      : columns(l.in_place ? nullptr : buffer(l.rows * l.max_tile_width())),
        staging(l.images_per_tile > 1 ? buffer(l.y_group_channels * l.max_tile_width()) : nullptr) {}
  static std::unique_ptr<T[]> buffer(std::int64_t size) {
    return std::make_unique_for_overwrite<T[]>(static_cast<std::size_t>(size));
  }
  std::unique_ptr<T[]> columns, staging;
};

// The tile's column matrix: x itself when in place, else im2col into scratch.
template <class T>
Matrix<T> tile_columns(const ConvGeometry& g, const Layout& l, const T* x, const Tile& t, T* scratch) {
  auto x_group = [&](std::int64_t image) {
    return x + (image * g.x_channels + t.group * l.x_group_channels) * l.x_plane;
  };
  if (l.in_place) return {x_group(t.image) + t.first, l.x_plane};
  for (std::int64_t i = 0; i < t.images; ++i)
    im2col(g, x_group(t.image + i), t.line_begin, t.line_end, scratch + i * t.image_width, t.width);
  return {scratch, t.width};
}

// The tile's rows of y (or dy) in image `image`: the group's channels, row stride y_plane.
template <class P>
P y_tile(const ConvGeometry& g, const Layout& l, P y, const Tile& t, std::int64_t image) {
  return y + (image * g.y_channels + t.group * l.y_group_channels) * l.y_plane + t.first;
}

// dst rows [rows, width] (row stride dst_ld) = src rows (row stride src_ld)
template <class T>
void copy_rows(std::int64_t rows, std::int64_t width, const T* src, std::int64_t src_ld, T* dst, std::int64_t dst_ld) {
  for (std::int64_t r = 0; r < rows; ++r) std::copy(src + r * src_ld, src + r * src_ld + width, dst + r * dst_ld);
}

// dy's rows for the tile as one matrix: in place for one image, else gathered
// side by side into the staging matrix.
template <class T>
Matrix<T> tile_gradient(const ConvGeometry& g, const Layout& l, const T* dy, const Tile& t, T* staging) {
  if (t.images == 1) return {y_tile(g, l, dy, t, t.image), l.y_plane};
  for (std::int64_t i = 0; i < t.images; ++i)
    copy_rows(l.y_group_channels, t.image_width, y_tile(g, l, dy, t, t.image + i), l.y_plane,
              staging + i * t.image_width, t.width);
  return {staging, t.width};
}

// rows [channels, width] at data (row stride ld) += bias[channel]
template <class T>
void add_bias(const T* bias, std::int64_t channels, std::int64_t width, std::int64_t ld, T* data) {
  for (std::int64_t c = 0; c < channels; ++c) {
    T* row = data + c * ld;
    for (std::int64_t j = 0; j < width; ++j) row[j] += bias[c];
  }
}

// Calls body(column_line, x_row, x_offset, valid) for every row of the column
// matrix of lines [line_begin, line_end) and every line: column_line holds that
// line's out[2] entries, which read x_row[ow * stride[2] + x_offset] for ow in
// `valid`; x_row is null when the whole line reads padding.
template <class XPtr, class ColumnPtr, class Body>
void walk_columns(const ConvGeometry& g, XPtr x_group, std::int64_t line_begin, std::int64_t line_end,
                  ColumnPtr columns, std::int64_t ld, Body&& body) {
  const std::int64_t out_h = g.out[1], out_w = g.out[2];
  ColumnPtr row = columns;
  for (std::int64_t c = 0; c < g.x_channels / g.groups; ++c)
    for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd)
      for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw, row += ld) {
          const std::int64_t x_offset = kw * g.dilation[2] - g.pad[2];
          const Span valid = inside(x_offset, g.stride[2], g.in[2], out_w);
          for (std::int64_t line = line_begin; line < line_end; ++line) {
            const std::int64_t od = line / out_h, oh = line % out_h;
            const std::int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dilation[0];
            const std::int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dilation[1];
            const bool inside_x = id >= 0 && id < g.in[0] && ih >= 0 && ih < g.in[1];
            body(row + (line - line_begin) * out_w,
                 inside_x ? x_group + ((c * g.in[0] + id) * g.in[1] + ih) * g.in[2] : nullptr, x_offset, valid);
          }
        }
}

// The x element (flat within the group's planes) that column-matrix entry
// (row, position) reads, or -1 when it reads padding; position counts from line_begin.
std::int64_t source_of(const ConvGeometry& g, std::int64_t row, std::int64_t position, std::int64_t line_begin) {
  const std::int64_t kw = row % g.kernel[2], kh = row / g.kernel[2] % g.kernel[1];
  const std::int64_t kd = row / (g.kernel[2] * g.kernel[1]) % g.kernel[0];
  const std::int64_t c = row / volume(g.kernel);
  const std::int64_t flat = line_begin * g.out[2] + position;
  const std::int64_t ow = flat % g.out[2], oh = flat / g.out[2] % g.out[1], od = flat / (g.out[2] * g.out[1]);
  const std::int64_t i[3] = {od * g.stride[0] - g.pad[0] + kd * g.dilation[0],
                             oh * g.stride[1] - g.pad[1] + kh * g.dilation[1],
                             ow * g.stride[2] - g.pad[2] + kw * g.dilation[2]};
  for (int d = 0; d < 3; ++d)
    if (i[d] < 0 || i[d] >= g.in[d]) return -1;
  return ((c * g.in[0] + i[0]) * g.in[1] + i[1]) * g.in[2] + i[2];
}

}  // namespace

template <class T>
void im2col(const ConvGeometry& g, const T* x_group, std::int64_t line_begin, std::int64_t line_end, T* columns,
            std::int64_t ld) {
  const std::int64_t out_w = g.out[2], step = g.stride[2];
  walk_columns(g, x_group, line_begin, line_end, columns, ld,
               [&](T* column, const T* x_row, std::int64_t x_offset, Span valid) {
                 if (x_row == nullptr) {
                   std::fill(column, column + out_w, T(0));
                   return;
                 }
                 std::fill(column, column + valid.lo, T(0));
                 if (step == 1) {
                   std::copy(x_row + (valid.lo + x_offset), x_row + (valid.hi + x_offset), column + valid.lo);
                 } else {
                   for (std::int64_t ow = valid.lo; ow < valid.hi; ++ow) column[ow] = x_row[ow * step + x_offset];
                 }
                 std::fill(column + valid.hi, column + out_w, T(0));
               });
}

template <class T>
void col2im(const ConvGeometry& g, const T* columns, std::int64_t ld, std::int64_t line_begin, std::int64_t line_end,
            T* x_group) {
  const std::int64_t step = g.stride[2];
  walk_columns(g, x_group, line_begin, line_end, columns, ld,
               [&](const T* column, T* x_row, std::int64_t x_offset, Span valid) {
                 if (x_row == nullptr) return;
                 for (std::int64_t ow = valid.lo; ow < valid.hi; ++ow) x_row[ow * step + x_offset] += column[ow];
               });
}

template <class T>
void im2col_reference(const ConvGeometry& g, const T* x_group, std::int64_t line_begin, std::int64_t line_end,
                      T* columns, std::int64_t ld) {
  const std::int64_t rows = g.x_channels / g.groups * volume(g.kernel), width = (line_end - line_begin) * g.out[2];
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < width; ++j) {
      const std::int64_t source = source_of(g, r, j, line_begin);
      columns[r * ld + j] = source < 0 ? T(0) : x_group[source];
    }
}

template <class T>
void col2im_reference(const ConvGeometry& g, const T* columns, std::int64_t ld, std::int64_t line_begin,
                      std::int64_t line_end, T* x_group) {
  const std::int64_t rows = g.x_channels / g.groups * volume(g.kernel), width = (line_end - line_begin) * g.out[2];
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < width; ++j) {
      const std::int64_t source = source_of(g, r, j, line_begin);
      if (source >= 0) x_group[source] += columns[r * ld + j];
    }
}

template <class T>
void im2col_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  const Layout l(g);
  const std::int64_t tiles = l.image_blocks * g.groups * l.tiles_per_image;
  const std::int64_t work = l.y_group_channels * l.rows * l.max_tile_width();
  detail::parallel_for(0, tiles, grain(work), [&](std::int64_t begin, std::int64_t end) {
    const Scratch<T> scratch(l);
    for (std::int64_t index = begin; index < end; ++index) {
      const Tile t = tile_at(g, l, index);
      const Matrix<T> columns = tile_columns(g, l, x, t, scratch.columns.get());
      const std::int64_t first_channel = t.group * l.y_group_channels;
      const bool direct = t.images == 1;  // the GEMM writes into y
      T* out = direct ? y_tile(g, l, y, t, t.image) : scratch.staging.get();
      const std::int64_t ld = direct ? l.y_plane : t.width;
      // y_g [channels, positions] = w_g [channels, rows] · columns [rows, positions]
      gemm<T>(false, false, l.y_group_channels, t.width, l.rows, T(1), w + first_channel * l.rows, l.rows, columns.data,
              columns.ld, T(0), out, ld);
      if (bias != nullptr) add_bias(bias + first_channel, l.y_group_channels, t.width, ld, out);
      if (!direct)  // scatter the images' blocks to y
        for (std::int64_t i = 0; i < t.images; ++i)
          copy_rows(l.y_group_channels, t.image_width, out + i * t.image_width, t.width,
                    y_tile(g, l, y, t, t.image + i), l.y_plane);
    }
  });
}

template <class T>
void im2col_backward_data(const ConvGeometry& g, const T* dy, const T* w, const T* bias, T* dx) {
  const Layout l(g);
  const std::int64_t work = l.y_group_channels * l.rows * l.y_plane * l.images_per_tile;
  // Items: (image block, group); each runs the block's line tiles in turn.
  detail::parallel_for(0, l.image_blocks * g.groups, grain(work), [&](std::int64_t begin, std::int64_t end) {
    const Scratch<T> scratch(l);
    for (std::int64_t item = begin; item < end; ++item) {
      const Tile block = tile_at(g, l, item * l.tiles_per_image);
      const std::int64_t x_first = block.group * l.x_group_channels, y_first = block.group * l.y_group_channels;
      auto dx_group = [&](std::int64_t image) { return dx + (image * g.x_channels + x_first) * l.x_plane; };
      if (!l.in_place)
        for (std::int64_t i = 0; i < block.images; ++i)
          std::fill(dx_group(block.image + i), dx_group(block.image + i) + l.x_group_channels * l.x_plane, T(0));
      for (std::int64_t line_tile = 0; line_tile < l.tiles_per_image; ++line_tile) {
        const Tile t = tile_at(g, l, item * l.tiles_per_image + line_tile);
        const Matrix<T> dy_tile = tile_gradient(g, l, dy, t, scratch.staging.get());
        // d columns [rows, positions] = w_gᵀ [rows, channels] · dy_g [channels, positions];
        // in place, the columns are dx itself.
        T* d_columns = l.in_place ? dx_group(t.image) + t.first : scratch.columns.get();
        const std::int64_t ld = l.in_place ? l.x_plane : t.width;
        gemm<T>(true, false, l.rows, t.width, l.y_group_channels, T(1), w + y_first * l.rows, l.rows, dy_tile.data,
                dy_tile.ld, T(0), d_columns, ld);
        if (!l.in_place)
          for (std::int64_t i = 0; i < t.images; ++i)
            col2im(g, d_columns + i * t.image_width, ld, t.line_begin, t.line_end, dx_group(t.image + i));
      }
      if (bias != nullptr)
        for (std::int64_t i = 0; i < block.images; ++i)
          add_bias(bias + x_first, l.x_group_channels, l.x_plane, l.x_plane, dx_group(block.image + i));
    }
  });
}

template <class T>
void im2col_backward_weight(const ConvGeometry& g, const T* dy, const T* x, T* dw) {
  const Layout l(g);
  const std::int64_t tiles = l.image_blocks * g.groups * l.tiles_per_image;
  const std::int64_t work = l.y_group_channels * l.rows * l.max_tile_width();
  // dw summed over the tiles, per thread chunk.
  const auto add_tiles = [&](std::int64_t begin, std::int64_t end, T* sums) {
    const Scratch<T> scratch(l);
    for (std::int64_t index = begin; index < end; ++index) {
      const Tile t = tile_at(g, l, index);
      const Matrix<T> columns = tile_columns(g, l, x, t, scratch.columns.get());
      const Matrix<T> dy_tile = tile_gradient(g, l, dy, t, scratch.staging.get());
      // dw_g [channels, rows] += dy_g [channels, positions] · columnsᵀ [positions, rows]
      gemm<T>(false, true, l.y_group_channels, l.rows, t.width, T(1), dy_tile.data, dy_tile.ld, columns.data,
              columns.ld, T(1), sums + t.group * l.y_group_channels * l.rows, l.rows);
    }
  };
  detail::parallel_sum(tiles, grain(work), g.y_channels * l.rows, dw, add_tiles);
}

#define XGRAD_INSTANTIATE_IM2COL(T)                                                                               \
  template void im2col<T>(const ConvGeometry&, const T*, std::int64_t, std::int64_t, T*, std::int64_t);           \
  template void col2im<T>(const ConvGeometry&, const T*, std::int64_t, std::int64_t, std::int64_t, T*);           \
  template void im2col_reference<T>(const ConvGeometry&, const T*, std::int64_t, std::int64_t, T*, std::int64_t); \
  template void col2im_reference<T>(const ConvGeometry&, const T*, std::int64_t, std::int64_t, std::int64_t, T*); \
  template void im2col_forward<T>(const ConvGeometry&, const T*, const T*, const T*, T*);                         \
  template void im2col_backward_data<T>(const ConvGeometry&, const T*, const T*, const T*, T*);                   \
  template void im2col_backward_weight<T>(const ConvGeometry&, const T*, const T*, T*);
XGRAD_INSTANTIATE_IM2COL(float)
XGRAD_INSTANTIATE_IM2COL(double)
#undef XGRAD_INSTANTIATE_IM2COL

}  // namespace xgrad::kernels
