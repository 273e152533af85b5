// PNG in and out.

#include <filesystem>
#include <fstream>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace fs = std::filesystem;

namespace {
// In this process's own directory (parallel cases check for leftover temporaries).
fs::path scratch(const std::string& name) { return process_scratch_dir("xgrad_test_image") / name; }
}  // namespace

TEST_CASE("write_png then read_image gives the same pixels", "[image]") {
  // 2x3 RGB with values on the 8-bit grid, so the round trip is exact.
  std::vector<float> v;
  for (int i = 0; i < 18; ++i) v.push_back(static_cast<float>(i * 14) / 255.0f);
  const Tensor img = from_vector(v, {3, 2, 3});
  const fs::path file = scratch("rgb.png");
  write_png(img, file.string());
  const Tensor back = read_image(file.string());
  CHECK(back.shape() == Shape{3, 2, 3});
  require_values(back, std::vector<double>(v.begin(), v.end()), 1e-7);
  CHECK(read_image(file.string(), 1).shape() == Shape{1, 2, 3});
  CHECK(read_image(file.string(), 4).shape() == Shape{4, 2, 3});

  // Grey [H, W], clamped.
  write_png(from_vector(std::vector<double>{-1, 0.5, 2, 1}, {2, 2}), file.string());
  require_values(read_image(file.string()), {0, 128.0 / 255, 1, 1}, 1e-7);
  for (const auto& entry : fs::directory_iterator(file.parent_path()))
    CHECK(entry.path().string().find(".tmp-") == std::string::npos);  // nothing half-written left
}

TEST_CASE("image errors name the file and the problem", "[image][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(read_image("/nonexistent/cat.png"), IOError, "read_image", "/nonexistent/cat.png");
  const fs::path junk = scratch("junk.png");
  std::ofstream(junk) << "not a png";
  XGRAD_REQUIRE_THROWS_WITH(read_image(junk.string()), IOError, "junk.png");
  XGRAD_REQUIRE_THROWS_WITH(write_png(zeros({2, 4, 4}), scratch("x.png").string()), ShapeError, "write_png",
                            "[2, 4, 4]");
  XGRAD_REQUIRE_THROWS_WITH(write_png(zeros({1, 4, 4}), "/nonexistent/dir/x.png"), IOError, "write_png",
                            "/nonexistent/dir");
  XGRAD_REQUIRE_THROWS_WITH(read_image("x.png", 2), ValueError, "channels");
}

// ---- pictures -----------------------------------------------------------------------

namespace {
// The colour of one value: apply_colormap of a 1x1 map.
std::vector<double> colour_of(double value, Colormap colormap) {
  return values(apply_colormap(f64_tensor({value}, {1, 1}), colormap));
}
}  // namespace

TEST_CASE("apply_colormap matches matplotlib's jet, viridis and gray", "[image][colormap]") {
  // matplotlib 3.6: matplotlib.colormaps[name](i / 255)[:3], the entries of its 256-colour tables.
  struct Sample {
    int index;
    std::vector<double> jet, viridis;
  };
  const std::vector<Sample> samples = {
      {0, {0.0, 0.0, 0.5}, {0.267004, 0.004874, 0.329415}},
      {40, {0.0, 0.127451, 1.0}, {0.270595, 0.214069, 0.507052}},
      {100, {0.135990, 1.0, 0.831752}, {0.166617, 0.463708, 0.558119}},
      {128, {0.490196, 1.0, 0.477546}, {0.127568, 0.566949, 0.550556}},
      {200, {1.0, 0.465505, 0.0}, {0.440137, 0.811138, 0.340967}},
      {230, {0.945633, 0.029775, 0.0}, {0.741388, 0.873449, 0.149561}},
      {255, {0.5, 0.0, 0.0}, {0.993248, 0.906157, 0.143936}},
  };
  for (const Sample& s : samples) {
    INFO("value " << s.index << " / 255");
    const double x = s.index / 255.0;
    require_values(f64_tensor(colour_of(x, Colormap::jet)), s.jet, 1e-6);
    // viridis interpolates every fifth table entry (exact there, within 0.0025 between).
    require_values(f64_tensor(colour_of(x, Colormap::viridis)), s.viridis, s.index % 5 == 0 ? 1e-6 : 2.5e-3);
    require_values(f64_tensor(colour_of(x, Colormap::gray)), {x, x, x}, 1e-12);
  }
  // Clamped; NaN as 0; jet is the default.
  CHECK(colour_of(-3.0, Colormap::jet) == colour_of(0.0, Colormap::jet));
  CHECK(colour_of(7.0, Colormap::viridis) == colour_of(1.0, Colormap::viridis));
  CHECK(colour_of(std::nan(""), Colormap::jet) == colour_of(0.0, Colormap::jet));
  CHECK(values(apply_colormap(f64_tensor({0.3}, {1, 1}))) == colour_of(0.3, Colormap::jet));
}

TEST_CASE("apply_colormap lays out [3, H, W] planes and keeps the dtype", "[image][colormap]") {
  const Tensor map = from_vector(std::vector<float>{0.0f, 0.25f, 0.5f, 0.75f, 1.0f, 0.1f}, {2, 3});
  const Tensor rgb = apply_colormap(map, Colormap::gray);
  CHECK(rgb.shape() == Shape{3, 2, 3});
  CHECK(rgb.dtype() == f32);
  require_values(rgb.select(0, 1), values(map), 1e-7);
  // A view (transpose) is read in its logical order.
  require_values(apply_colormap(map.t(), Colormap::gray).select(0, 2), values(map.t().contiguous()), 1e-7);
}

TEST_CASE("overlay_heatmap blends (1 - alpha) image + alpha colour", "[image][colormap]") {
  const Tensor map = f64_tensor({0.0, 1.0, 0.5, 0.2}, {2, 2});
  const Tensor rgb_image = f64_tensor({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.0, 0.5}, {3, 2, 2});
  const std::vector<double> colours = values(apply_colormap(map, Colormap::viridis));
  const std::vector<double> image = values(rgb_image);
  std::vector<double> expected(12);
  for (std::size_t i = 0; i < 12; ++i) expected[i] = 0.7 * image[i] + 0.3 * colours[i];
  require_values(overlay_heatmap(rgb_image, map, 0.3, Colormap::viridis), expected, 1e-12);

  // Grey images are replicated to RGB; alpha 0 is the image, 1 the colours; default jet at 0.5.
  const Tensor grey = f64_tensor({0.1, 0.2, 0.3, 0.4}, {1, 2, 2});
  const Tensor blended = overlay_heatmap(grey, map, 0.0);
  CHECK(blended.shape() == Shape{3, 2, 2});
  for (std::int64_t c = 0; c < 3; ++c) require_values(blended.select(0, c), values(grey), 1e-12);
  require_values(overlay_heatmap(grey, map, 1.0), values(apply_colormap(map)), 1e-12);
  const std::vector<double> jet = values(apply_colormap(map));
  const std::vector<double> half = values(overlay_heatmap(grey, map));
  for (std::size_t i = 0; i < 12; ++i) CHECK(half[i] == Approx(0.5 * values(grey)[i % 4] + 0.5 * jet[i]));
}

TEST_CASE("an overlay written as PNG reads back with its size", "[image][colormap]") {
  manual_seed(3);
  const Tensor picture = overlay_heatmap(rand({3, 5, 7}), rand({5, 7}), 0.4);
  const fs::path file = scratch("overlay.png");
  write_png(picture, file.string());
  const Tensor back = read_image(file.string());
  CHECK(back.shape() == Shape{3, 5, 7});
  require_values(back, values(picture), 0.5 / 255 + 1e-6);  // 8-bit rounding
}

TEST_CASE("make_grid matches torchvision's layout", "[image][grid]") {
  // Expected values: torchvision 0.14 torchvision.utils.make_grid on the same inputs.
  SECTION("grey images, 2 per row, padding 1, pad value 0.5") {
    const Tensor images = arange(30, {.dtype = f64}).reshape({5, 1, 2, 3}) / 30.0;
    const Tensor grid = make_grid(images, {.nrow = 2, .padding = 1, .pad_value = 0.5});
    CHECK(grid.shape() == Shape{3, 10, 9});
    CHECK(grid.sum().item() == Approx(133.5));
    const std::vector<std::pair<std::vector<std::int64_t>, double>> pixels = {
        {{0, 0, 0}, 0.5}, {{0, 1, 1}, 0.0}, {{1, 1, 1}, 0.0}, {{2, 2, 3}, 5.0 / 30},
        {{0, 1, 5}, 0.2}, {{0, 4, 5}, 0.6}, {{0, 7, 1}, 0.8}, {{1, 8, 3}, 29.0 / 30},
        {{2, 9, 8}, 0.5}, {{0, 7, 5}, 0.5},  // the empty sixth slot
    };
    for (const auto& [at, value] : pixels) {
      INFO("pixel " << shape_to_string(at));
      CHECK(grid.select(0, at[0]).select(0, at[1]).select(0, at[2]).item() == Approx(value));
    }
  }
  // Three RGB images k: arange(12) * (k + 1) + 7k.
  std::vector<Tensor> rgb;
  for (int k = 0; k < 3; ++k) rgb.push_back((arange(12, {.dtype = f64}) * (k + 1.0) + 7.0 * k).reshape({1, 3, 2, 2}));
  const Tensor images = cat(rgb, 0);
  SECTION("normalize each image, defaults otherwise") {
    const Tensor grid = make_grid(images, {.normalize = true, .scale_each = true});
    CHECK(grid.shape() == Shape{3, 6, 14});
    CHECK(grid.sum().item() == Approx(18.0));
    CHECK(grid.select(0, 1).select(0, 2).select(0, 7).item() == Approx(5.0 / 11));
    CHECK(grid.select(0, 1).select(0, 3).select(0, 10).item() == Approx(6.0 / 11));
    CHECK(grid.select(0, 2).select(0, 3).select(0, 3).item() == Approx(1.0));
    CHECK(grid.select(0, 0).select(0, 2).select(0, 10).item() == Approx(0.0));
  }
  SECTION("normalize the batch as a whole, no padding") {
    const Tensor grid = make_grid(images, {.nrow = 2, .padding = 0, .normalize = true});
    CHECK(grid.shape() == Shape{3, 4, 4});
    CHECK(grid.sum().item() == Approx(13.787234042553195));
    CHECK(grid.select(0, 2).select(0, 1).select(0, 3).item() == Approx(0.6170212765957447));
    CHECK(grid.select(0, 1).select(0, 2).select(0, 1).item() == Approx(0.6170212765957447));
    CHECK(grid.select(0, 2).select(0, 3).select(0, 1).item() == Approx(1.0));
  }
  SECTION("one image comes back as it is, grey replicated") {
    const Tensor grid = make_grid(arange(6).reshape({1, 1, 2, 3}));
    CHECK(grid.shape() == Shape{3, 2, 3});
    CHECK(grid.dtype() == f32);
    require_values(grid, {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5});
  }
}

TEST_CASE("make_grid and feature_map_grid record nothing", "[image][grid]") {
  manual_seed(4);
  const Tensor images = randn({2, 3, 4, 4}, {.requires_grad = true});
  CHECK_FALSE(make_grid(images * 2.0).requires_grad());
  CHECK_FALSE(feature_map_grid(images.select(0, 0) * 2.0).requires_grad());
  CHECK_FALSE(overlay_heatmap(images.select(0, 1), images.select(0, 0).select(0, 0)).requires_grad());
}

TEST_CASE("feature_map_grid scales each map on its own and upscales it", "[image][grid]") {
  // Three 2x2 maps: a ramp, a flat map and a scaled ramp.
  const Tensor activation = f64_tensor({0, 1, 2, 3, /**/ 5, 5, 5, 5, /**/ -10, 10, 30, 50}, {1, 3, 2, 2});
  const Tensor grid = feature_map_grid(activation, 64, 2, 2);
  // 2 maps per row, 2 rows, each 4x4, 2 white pixels between and around.
  CHECK(grid.shape() == Shape{3, 2 + 2 * (4 + 2), 2 + 2 * (4 + 2)});
  const auto map_at = [&](std::int64_t row, std::int64_t col) {
    return grid.select(0, 0).narrow(0, 2 + row * 6, 4).narrow(1, 2 + col * 6, 4);
  };
  const double third = 1.0 / 3, two_thirds = 2.0 / 3;  // the 2x2 ramp 0 1 / 2 3, each pixel 2x2
  const std::vector<double> ramp = {0,          0,          third, third, 0,          0,          third, third,
                                    two_thirds, two_thirds, 1,     1,     two_thirds, two_thirds, 1,     1};
  require_values(map_at(0, 0), ramp);
  require_values(map_at(0, 1), std::vector<double>(16, 0.0));  // flat -> 0
  require_values(map_at(1, 0), ramp);
  require_values(map_at(1, 1), std::vector<double>(16, 1.0));  // empty slot: padding
  CHECK(grid.select(0, 0).select(0, 0).select(0, 0).item() == 1.0);
  require_values(grid.select(0, 0), values(grid.select(0, 2)));  // grey

  // At most max_maps; [C, h, w] works too; the default scale is 1.
  CHECK(feature_map_grid(activation.squeeze(0), 2).shape() == Shape{3, 2 + 4, 2 + 2 * 4});
  CHECK(feature_map_grid(zeros({1, 20, 3, 5}), 64, 1, 8).shape() == Shape{3, 2 + 3 * 5, 2 + 8 * 7});
}

TEST_CASE("picture errors name the function and the problem", "[image][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(apply_colormap(zeros({1, 2, 2})), ShapeError, "apply_colormap", "[1, 2, 2]");
  XGRAD_REQUIRE_THROWS_WITH(apply_colormap(zeros({2, 2}, {.dtype = i64})), DTypeError, "apply_colormap");
  XGRAD_REQUIRE_THROWS_WITH(overlay_heatmap(zeros({3, 4, 5}), zeros({4, 4})), ShapeError, "overlay_heatmap", "[4, 4]",
                            "[3, 4, 5]");
  XGRAD_REQUIRE_THROWS_WITH(overlay_heatmap(zeros({2, 4, 4}), zeros({4, 4})), ShapeError, "overlay_heatmap",
                            "C = 1 or 3", "[2, 4, 4]");
  XGRAD_REQUIRE_THROWS_WITH(overlay_heatmap(zeros({3, 4, 4}), zeros({4, 4}), 1.5), ValueError, "alpha", "1.5");
  XGRAD_REQUIRE_THROWS_WITH(make_grid(zeros({3, 4, 4})), ShapeError, "make_grid", "[3, 4, 4]");
  XGRAD_REQUIRE_THROWS_WITH(make_grid(zeros({2, 2, 4, 4})), ShapeError, "make_grid", "[2, 2, 4, 4]");
  XGRAD_REQUIRE_THROWS_WITH(make_grid(zeros({0, 3, 4, 4})), ShapeError, "make_grid", "[0, 3, 4, 4]");
  XGRAD_REQUIRE_THROWS_WITH(make_grid(zeros({2, 3, 4, 4}), {.nrow = 0}), ValueError, "make_grid", "nrow");
  XGRAD_REQUIRE_THROWS_WITH(make_grid(zeros({2, 3, 4, 4}), {.padding = -1}), ValueError, "make_grid", "padding");
  XGRAD_REQUIRE_THROWS_WITH(feature_map_grid(zeros({2, 3, 4, 4})), ShapeError, "feature_map_grid", "[2, 3, 4, 4]");
  XGRAD_REQUIRE_THROWS_WITH(feature_map_grid(zeros({4, 4})), ShapeError, "feature_map_grid", "[4, 4]");
  XGRAD_REQUIRE_THROWS_WITH(feature_map_grid(zeros({3, 4, 4}), 64, 0), ValueError, "feature_map_grid", "scale");
}
