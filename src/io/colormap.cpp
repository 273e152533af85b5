// Colormaps and heatmap overlays: display functions, plain loops, nothing recorded.

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <vector>

#include "util/check.hpp"
#include "xgrad/image.hpp"

namespace xgrad {

using detail::fail;

namespace {

struct Rgb {
  double r, g, b;
};

// matplotlib 3.6's viridis (its 256-colour table _cm_listed._viridis_data, CC0) at
// every fifth entry: 52 colours at positions 0, 1/51, ..., 1. Linear interpolation
// between them stays within 0.0025 (under one 8-bit level) of all 256 entries.
// Generated with: d = matplotlib._cm_listed._viridis_data; [d[i] for i in range(0, 256, 5)]
constexpr std::array<Rgb, 52> kViridis = {{
    {0.267004, 0.004874, 0.329415}, {0.273809, 0.031497, 0.358853}, {0.278791, 0.062145, 0.386592},
    {0.281924, 0.089666, 0.412415}, {0.283197, 0.115680, 0.436115}, {0.282623, 0.140926, 0.457517},
    {0.280255, 0.165693, 0.476498}, {0.276194, 0.190074, 0.493001}, {0.270595, 0.214069, 0.507052},
    {0.263663, 0.237631, 0.518762}, {0.255645, 0.260703, 0.528312}, {0.246811, 0.283237, 0.535941},
    {0.237441, 0.305202, 0.541921}, {0.227802, 0.326594, 0.546532}, {0.218130, 0.347432, 0.550038},
    {0.208623, 0.367752, 0.552675}, {0.199430, 0.387607, 0.554642}, {0.190631, 0.407061, 0.556089},
    {0.182256, 0.426184, 0.557120}, {0.174274, 0.445044, 0.557792}, {0.166617, 0.463708, 0.558119},
    {0.159194, 0.482237, 0.558073}, {0.151918, 0.500685, 0.557587}, {0.144759, 0.519093, 0.556572},
    {0.137770, 0.537492, 0.554906}, {0.131172, 0.555899, 0.552459}, {0.125394, 0.574318, 0.549086},
    {0.121148, 0.592739, 0.544641}, {0.119423, 0.611141, 0.538982}, {0.121380, 0.629492, 0.531973},
    {0.128087, 0.647749, 0.523491}, {0.140210, 0.665859, 0.513427}, {0.157851, 0.683765, 0.501686},
    {0.180653, 0.701402, 0.488189}, {0.208030, 0.718701, 0.472873}, {0.239374, 0.735588, 0.455688},
    {0.274149, 0.751988, 0.436601}, {0.311925, 0.767822, 0.415586}, {0.352360, 0.783011, 0.392636},
    {0.395174, 0.797475, 0.367757}, {0.440137, 0.811138, 0.340967}, {0.487026, 0.823929, 0.312321},
    {0.535621, 0.835785, 0.281908}, {0.585678, 0.846661, 0.249897}, {0.636902, 0.856542, 0.216620},
    {0.688944, 0.865448, 0.182725}, {0.741388, 0.873449, 0.149561}, {0.793760, 0.880678, 0.120005},
    {0.845561, 0.887322, 0.099702}, {0.896320, 0.893616, 0.096335}, {0.945636, 0.899815, 0.112838},
    {0.993248, 0.906157, 0.143936},
}};

Rgb viridis(double x) {
  const double position = x * static_cast<double>(kViridis.size() - 1);
  const auto i = std::min(static_cast<std::size_t>(position), kViridis.size() - 2);
  const double t = position - static_cast<double>(i);
  const Rgb& lo = kViridis[i];
  const Rgb& hi = kViridis[i + 1];
  return {lo.r + t * (hi.r - lo.r), lo.g + t * (hi.g - lo.g), lo.b + t * (hi.b - lo.b)};
}

struct Knot {
  double x, y;
};

// matplotlib's jet (_cm._jet_data): each channel piecewise linear through these knots.
constexpr std::array<Knot, 5> kJetRed = {{{0.0, 0.0}, {0.35, 0.0}, {0.66, 1.0}, {0.89, 1.0}, {1.0, 0.5}}};
constexpr std::array<Knot, 6> kJetGreen = {
    {{0.0, 0.0}, {0.125, 0.0}, {0.375, 1.0}, {0.64, 1.0}, {0.91, 0.0}, {1.0, 0.0}}};
constexpr std::array<Knot, 5> kJetBlue = {{{0.0, 0.5}, {0.11, 1.0}, {0.34, 1.0}, {0.65, 0.0}, {1.0, 0.0}}};

// x in [0, 1]; the knots start at 0 and end at 1.
double piecewise_linear(std::span<const Knot> knots, double x) {
  std::size_t i = 1;
  while (i + 1 < knots.size() && knots[i].x < x) ++i;
  const Knot& lo = knots[i - 1];
  const Knot& hi = knots[i];
  return lo.y + (x - lo.x) / (hi.x - lo.x) * (hi.y - lo.y);
}

Rgb colour(Colormap colormap, double value) {
  const double x = std::isnan(value) ? 0.0 : std::clamp(value, 0.0, 1.0);
  switch (colormap) {
    case Colormap::viridis:
      return viridis(x);
    case Colormap::jet:
      return {piecewise_linear(kJetRed, x), piecewise_linear(kJetGreen, x), piecewise_linear(kJetBlue, x)};
    case Colormap::gray:
      return {x, x, x};
  }
  fail<ValueError>("apply_colormap: unknown colormap {}", static_cast<int>(colormap));
}

void check_map(const char* op, const Tensor& map) {
  detail::check_defined(op, map, "map");
  detail::check_floating(op, map);
  if (map.dim() != 2) fail<ShapeError>("{}: expected a map [H, W], got {}", op, detail::str(map.shape()));
}

// The map's colours as three planes (R, G, B) of H * W values.
std::vector<double> colour_planes(const Tensor& map, Colormap colormap) {
  const std::vector<double> values = map.to_vector<double>();
  const std::size_t plane = values.size();
  std::vector<double> rgb(3 * plane);
  for (std::size_t i = 0; i < plane; ++i) {
    const Rgb c = colour(colormap, values[i]);
    rgb[i] = c.r;
    rgb[plane + i] = c.g;
    rgb[2 * plane + i] = c.b;
  }
  return rgb;
}

}  // namespace

Tensor apply_colormap(const Tensor& map, Colormap colormap) {
  check_map("apply_colormap", map);
  return from_vector(colour_planes(map, colormap), {3, map.size(0), map.size(1)}, {.dtype = map.dtype()});
}

Tensor overlay_heatmap(const Tensor& image, const Tensor& map, double alpha, Colormap colormap) {
  constexpr const char* op = "overlay_heatmap";
  check_map(op, map);
  detail::check_defined(op, image, "image");
  detail::check_floating(op, image);
  if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3))
    fail<ShapeError>("{}: expected an image [C, H, W] with C = 1 or 3, got {}", op, detail::str(image.shape()));
  if (image.size(1) != map.size(0) || image.size(2) != map.size(1))
    fail<ShapeError>("{}: map {} and image {} differ in size (resize the map to the image first)", op,
                     detail::str(map.shape()), detail::str(image.shape()));
  if (!(alpha >= 0.0 && alpha <= 1.0)) fail<ValueError>("{}: alpha must be in [0, 1], got {}", op, alpha);

  const std::vector<double> pixels = image.to_vector<double>();
  std::vector<double> blend = colour_planes(map, colormap);
  const std::size_t plane = blend.size() / 3;
  const bool grey = image.size(0) == 1;
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t i = 0; i < plane; ++i) {
      const double pixel = pixels[(grey ? 0 : c * plane) + i];
      double& out = blend[c * plane + i];
      out = (1.0 - alpha) * pixel + alpha * out;
    }
  return from_vector(blend, {3, map.size(0), map.size(1)}, {.dtype = image.dtype()});
}

}  // namespace xgrad
