// Nearest and bilinear upsampling: values against PyTorch 1.13's
// F.interpolate (numbers computed there and written here), gradients by
// gradcheck, f32 against f64, threads, views, nn::Upsample and errors.

#include <cmath>
#include <functional>
#include <numeric>

#include "upsample_support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

TEST_CASE("bilinear upsampling equals PyTorch's, align_corners off and on", "[upsample][bilinear]") {
  const Tensor x = pattern({1, 1, 2, 3});
  // F.interpolate(x, size=(3, 5), mode='bilinear', align_corners=False)
  require_output(upsample_bilinear2d(x, {3, 5}),
                 {{1, 1, 3, 5}, {-5.0, -2.2, 2.0, -0.4, -2.0, 0.0, 0.6, 1.5, -0.9, -2.5, 5.0, 3.4, 1.0, -1.4, -3.0}});
  // align_corners=True: the corners are the input's corners.
  require_output(upsample_bilinear2d(x, {3, 5}, true),
                 {{1, 1, 3, 5}, {-5.0, -1.5, 2.0, 0.0, -2.0, 0.0, 0.75, 1.5, -0.5, -2.5, 5.0, 3.0, 1.0, -1.0, -3.0}});
  // Down by a non-integer ratio.
  const Tensor y = pattern({1, 1, 3, 4});
  require_output(
      upsample_bilinear2d(y, {2, 3}),
      {{1, 1, 2, 3}, {-2.7916666666666665, 0.125, 3.0416666666666656, -2.0416666666666665, 0.875, -3.083333333333332}});
  require_output(upsample_bilinear2d(y, {2, 3}, true), {{1, 1, 2, 3}, {-5.0, 0.0, 5.0, -4.0, 1.0, -5.0}});
  // To one pixel: the centre without align_corners, the top-left corner with it.
  require_output(upsample_bilinear2d(x, {1, 1}), {{1, 1, 1, 1}, {1.5}});
  require_output(upsample_bilinear2d(x, {1, 1}, true), {{1, 1, 1, 1}, {-5.0}});
  // One value for both sides.
  CHECK(upsample_bilinear2d(x, {4}).shape() == Shape{1, 1, 4, 4});
}

TEST_CASE("nearest upsampling picks PyTorch's pixels", "[upsample][nearest]") {
  // Doubling repeats each pixel twice, per channel.
  require_output(upsample_nearest2d(pattern({1, 2, 2, 2}), {4, 4}),
                 {{1, 2, 4, 4}, {-5, -5, 2,  2,  -5, -5, 2,  2,  -2, -2, 5, 5, -2, -2, 5, 5,
                                 1,  1,  -3, -3, 1,  1,  -3, -3, 4,  4,  0, 0, 4,  4,  0, 0}});
  const Tensor x = pattern({1, 1, 3, 5});
  require_output(upsample_nearest2d(x, {5, 7}),
                 {{1, 1, 5, 7}, {-5, -5, 2, -2, -2, 5, 1, -5, -5, 2, -2, -2, 5,  1, -3, -3, 4, 0,
                                 0,  -4, 3, -3, -3, 4, 0, 0,  -4, 3, -1, -1, -5, 2, 2,  -2, 5}});
  require_output(upsample_nearest2d(x, {2, 3}), {{1, 1, 2, 3}, {-5, 2, 5, -3, 4, -4}});
  // 26 -> 22: floor(o * scale) with scale = 26f / 22 in float, as PyTorch: o = 11
  // reads pixel 12 (11 * 26 / 22 = 13 exactly, but the float product falls short).
  const Tensor ramp = arange(0, 26, 1, {.dtype = f64}).reshape({1, 1, 1, 26});
  require_output(upsample_nearest2d(ramp, {1, 22}),
                 {{1, 1, 1, 22}, {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 20, 21, 22, 23, 24}});
}

TEST_CASE("interpolate with a scale factor uses 1 / factor for the coordinates, as PyTorch",
          "[upsample][interpolate]") {
  const Tensor x = pattern({1, 1, 2, 5});
  // F.interpolate(x, scale_factor=1.5, mode=...): output 3x7
  require_output(interpolate(x, {.scale_factor = {1.5}}),
                 {{1, 1, 3, 7}, {-5, -5, 2, -2, -2, 5, 1, -5, -5, 2, -2, -2, 5, 1, -3, -3, 4, 0, 0, -4, 3}});
  require_output(interpolate(x, {.scale_factor = {1.5}, .mode = "bilinear"}), {{1, 1, 3, 7},
                                                                               {-5.0,
                                                                                -1.5,
                                                                                1.333333333333334,
                                                                                -1.333333333333333,
                                                                                1.5,
                                                                                4.333333333333334,
                                                                                1.6666666666666679,
                                                                                -4.0,
                                                                                -0.5000000000000002,
                                                                                2.333333333333334,
                                                                                -0.3333333333333331,
                                                                                -0.2499999999999999,
                                                                                0.75,
                                                                                1.7499999999999993,
                                                                                -3.0,
                                                                                0.4999999999999997,
                                                                                3.333333333333334,
                                                                                0.666666666666667,
                                                                                -2.0,
                                                                                -2.833333333333334,
                                                                                1.8333333333333313}});
  require_output(interpolate(x, {.scale_factor = {2, 0.5}, .mode = "bilinear"}),
                 {{1, 1, 4, 2}, {-1.5, 1.5, -1.0, 0.625, 0.0, -1.125, 0.5, -2.0}});
  // With a size, interpolate is the op of its mode.
  CHECK(values(interpolate(x, {.size = {3, 4}, .mode = "bilinear", .align_corners = true})) ==
        values(upsample_bilinear2d(x, {3, 4}, true)));
  CHECK(values(interpolate(x, {.size = {3, 4}})) == values(upsample_nearest2d(x, {3, 4})));
}

TEST_CASE("upsampling gradients equal PyTorch's", "[upsample][backward]") {
  Tensor x = pattern({1, 1, 2, 3});
  x.requires_grad_();
  upsample_bilinear2d(x, {3, 5}).backward(arange(0, 15, 1, {.dtype = f64}).reshape({1, 1, 3, 5}));
  require_values(x.grad(), {4.9, 9.9, 12.7, 20.9, 27.9, 28.7});

  Tensor y = pattern({1, 1, 3, 5});
  y.requires_grad_();
  upsample_nearest2d(y, {2, 3}).backward(arange(1, 7, 1, {.dtype = f64}).reshape({1, 1, 2, 3}));
  require_values(y.grad(), {1, 2, 0, 3, 0, 4, 5, 0, 6, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("upsampling gradients over the grid", "[upsample][gradcheck]") {
  manual_seed(1);
  const std::vector<Shape> inputs{{1, 1, 3, 4}, {2, 1, 2, 3}, {1, 2, 1, 3}, {1, 1, 1, 1}};
  const std::vector<std::vector<std::int64_t>> sizes{{5, 7}, {2, 3}, {3, 4}, {1, 1}, {1, 5}, {4, 2}, {6}};
  for (const Shape& shape : inputs)
    for (const auto& size : sizes) {
      const Tensor x = leaf(shape);
      INFO("input " << shape_to_string(shape) << ", size " << shape_to_string(size));
      require_gradchecks([&](const std::vector<Tensor>& in) { return upsample_nearest2d(in[0], size); }, {x});
      for (const bool align_corners : {false, true}) {
        INFO("bilinear, align_corners " << align_corners);
        require_gradchecks(
            [&](const std::vector<Tensor>& in) { return upsample_bilinear2d(in[0], size, align_corners); }, {x});
      }
    }
  const Tensor x = leaf({1, 1, 3, 4});
  for (const char* mode : {"nearest", "bilinear"}) {
    INFO("mode " << mode);
    require_gradchecks(
        [&](const std::vector<Tensor>& in) {
          return interpolate(in[0], {.scale_factor = {1.7, 0.6}, .mode = mode});
        },
        {x});
  }
}

TEST_CASE("f32 upsampling agrees with f64 and with PyTorch's f32", "[upsample][f32]") {
  manual_seed(2);
  const Tensor x = randn({2, 3, 5, 4}, {.dtype = f64});
  for (const auto& size : std::vector<std::vector<std::int64_t>>{{7, 9}, {3, 2}, {5, 4}}) {
    for (const bool align_corners : {false, true})
      require_values(upsample_bilinear2d(x.to(f32), size, align_corners),
                     values(upsample_bilinear2d(x, size, align_corners)), 1e-5);
    CHECK(values(upsample_nearest2d(x.to(f32), size)) == values(upsample_nearest2d(x, size).to(f32)));
  }
  // F.interpolate(x.float(), size=(5, 7), mode='bilinear'): float coordinates and weights.
  require_output(upsample_bilinear2d(pattern({1, 1, 3, 4}, f32), {5, 7}),
                 {{1, 1, 5, 7},
                  {-5.0,
                   -2.499999523162842,
                   1.500000238418579,
                   -4.76837158203125e-07,
                   -1.4999992847442627,
                   2.5000011920928955,
                   5.0,
                   -2.5999999046325684,
                   -1.6714283227920532,
                   -0.18571430444717407,
                   0.2000000923871994,
                   0.5857147574424744,
                   2.0714290142059326,
                   3.0,
                   0.9999997019767761,
                   -0.4285716712474823,
                   -2.7142856121063232,
                   0.5000007152557373,
                   3.714285135269165,
                   1.4285703897476196,
                   -2.980232238769531e-07,
                   -2.000000476837158,
                   -1.0714285373687744,
                   0.4142862558364868,
                   0.8000001311302185,
                   0.7142848968505859,
                   -1.57142972946167,
                   -3.000000476837158,
                   -4.0,
                   -1.4999995231628418,
                   2.500000238418579,
                   0.9999995231628418,
                   -1.2857147455215454,
                   -3.5714292526245117,
                   -5.0}},
                 2e-6);
}

TEST_CASE("upsampling gives the same results on 1 and 2 threads", "[upsample][threads]") {
  manual_seed(3);
  const Tensor x = randn({4, 8, 16, 16}, {.requires_grad = true});
  const Tensor cotangent = randn({4, 8, 64, 48});
  const auto run = [&](int threads) {
    set_num_threads(threads);
    x.set_grad(Tensor());
    std::vector<double> out = values(upsample_bilinear2d(x, {64, 48}));
    (upsample_bilinear2d(x, {64, 48}) * cotangent).sum().backward();
    const std::vector<double> nearest = values(upsample_nearest2d(x, {64, 48}));
    out.insert(out.end(), nearest.begin(), nearest.end());
    const std::vector<double> grad = values(x.grad());
    out.insert(out.end(), grad.begin(), grad.end());
    return out;
  };
  const int threads = get_num_threads();
  const std::vector<double> one = run(1);
  const std::vector<double> two = run(2);
  set_num_threads(threads);
  CHECK(one == two);
}

TEST_CASE("upsampling reads strided views and returns gradients of the view's shape", "[upsample][views]") {
  manual_seed(4);
  const Tensor base = leaf({1, 2, 4, 3});
  const Tensor view = base.transpose(2, 3);  // [1, 2, 3, 4], not contiguous
  CHECK(values(upsample_bilinear2d(view, {5, 6})) == values(upsample_bilinear2d(view.contiguous(), {5, 6})));
  require_gradchecks(
      [](const std::vector<Tensor>& in) {
        return upsample_bilinear2d(in[0].transpose(2, 3), {5, 6});
      },
      {base});
  // An empty batch resizes to an empty batch.
  CHECK(upsample_bilinear2d(zeros({0, 3, 4, 4}), {8, 8}).shape() == Shape{0, 3, 8, 8});
}

TEST_CASE("nn::Upsample applies interpolate with its options", "[upsample][nn]") {
  manual_seed(5);
  const Tensor x = randn({1, 2, 3, 4});
  nn::Upsample scaled({.scale_factor = {2}});
  CHECK(values(scaled(x)) == values(interpolate(x, {.scale_factor = {2}})));
  CHECK(scaled.extra_repr() == "scale_factor=[2], mode='nearest'");
  nn::Upsample sized({.size = {5, 7}, .mode = "bilinear", .align_corners = true});
  CHECK(values(sized(x)) == values(upsample_bilinear2d(x, {5, 7}, true)));
  CHECK(sized.extra_repr() == "size=[5, 7], mode='bilinear', align_corners=true");
  CHECK(sized.parameters().empty());

  XGRAD_REQUIRE_THROWS_WITH(nn::Upsample({.size = {2}, .mode = "cubic"}), ValueError, "Upsample", "\"cubic\"");
  XGRAD_REQUIRE_THROWS_WITH(nn::Upsample({.size = {2}, .scale_factor = {2}}), ValueError, "Upsample",
                            "either size or scale_factor");
  XGRAD_REQUIRE_THROWS_WITH(nn::Upsample(InterpolateOptions{}), ValueError, "Upsample", "either size or scale_factor");
  XGRAD_REQUIRE_THROWS_WITH(nn::Upsample({.size = {2, 0}}), ValueError, "Upsample", "[2, 0]");
  XGRAD_REQUIRE_THROWS_WITH(nn::Upsample({.scale_factor = {-1}}), ValueError, "Upsample", "scale_factor");
  XGRAD_REQUIRE_THROWS_WITH(nn::Upsample({.size = {2}, .align_corners = true}), ValueError, "Upsample",
                            "align_corners");
}

TEST_CASE("upsampling refuses bad inputs and options with clear messages", "[upsample][errors]") {
  const Tensor x = zeros({1, 1, 2, 2});
  XGRAD_REQUIRE_THROWS_WITH(upsample_bilinear2d(zeros({2, 2}), {4, 4}), ShapeError, "upsample_bilinear2d",
                            "4-D input [N, C, H, W]", "[2, 2]");
  XGRAD_REQUIRE_THROWS_WITH(upsample_nearest2d(zeros({1, 1, 1, 2, 2}), {4, 4}), ShapeError, "upsample_nearest2d",
                            "[1, 1, 1, 2, 2]");
  XGRAD_REQUIRE_THROWS_WITH(upsample_bilinear2d(zeros({1, 1, 0, 2}), {4, 4}), ShapeError, "upsample_bilinear2d",
                            "empty spatial dim");
  XGRAD_REQUIRE_THROWS_WITH(upsample_bilinear2d(x, {0, 4}), ValueError, "upsample_bilinear2d", "positive", "[0, 4]");
  XGRAD_REQUIRE_THROWS_WITH(upsample_nearest2d(x, {1, 2, 3}), ValueError, "upsample_nearest2d", "[1, 2, 3]");
  XGRAD_REQUIRE_THROWS_WITH(upsample_nearest2d(x, {}), ValueError, "upsample_nearest2d", "[]");
  XGRAD_REQUIRE_THROWS_WITH(upsample_bilinear2d(zeros({1, 1, 2, 2}, {.dtype = i64}), {4, 4}), DTypeError,
                            "upsample_bilinear2d", "i64");
  XGRAD_REQUIRE_THROWS_WITH(interpolate(x, {.size = {4}, .mode = "trilinear"}), ValueError, "interpolate",
                            "\"trilinear\"");
  XGRAD_REQUIRE_THROWS_WITH(interpolate(x, {.size = {4}, .align_corners = true}), ValueError, "interpolate",
                            "align_corners", "\"nearest\"");
  XGRAD_REQUIRE_THROWS_WITH(interpolate(x, {}), ValueError, "interpolate", "either size or scale_factor");
  XGRAD_REQUIRE_THROWS_WITH(interpolate(x, {.size = {4}, .scale_factor = {2}}), ValueError, "interpolate",
                            "either size or scale_factor");
  XGRAD_REQUIRE_THROWS_WITH(interpolate(x, {.scale_factor = {0.2}}), ValueError, "interpolate", "0x0");
  XGRAD_REQUIRE_THROWS_WITH(interpolate(x, {.scale_factor = {2, 2, 2}}), ValueError, "interpolate", "scale_factor");
  XGRAD_REQUIRE_THROWS_WITH(interpolate(x, {.scale_factor = {NAN}}), ValueError, "interpolate", "scale_factor");
}

// Regression (issue: wrong results against PyTorch 1.13). Values from
// F.interpolate on inputs with N * C > 1, where PyTorch takes its general
// (contiguous) path; its channels-last path, which it also takes for
// one-channel inputs, short-cuts nearest for out == in and out == 2 in. The
// gradients are the adjoint of those values (each output's gradient added to the
// pixel it read): PyTorch 1.13's backward keeps the short cuts, so its gradient
// disagrees with its own forward here (1, 5, 9, ... for the first case).
TEST_CASE("nearest with a scale factor follows floor(o / factor) even where the size stays or doubles",
          "[upsample][nearest][regression]") {
  auto check = [](const Shape& shape, std::vector<double> factor, const Expected& out, std::vector<double> grad) {
    INFO("input " << shape_to_string(shape));
    Tensor x = pattern(shape);
    x.requires_grad_();
    const Tensor y = interpolate(x, {.scale_factor = factor});
    require_output(y, out);
    y.backward(arange(0, static_cast<double>(y.numel()), 1, {.dtype = f64}).reshape(y.shape()));
    require_values(x.grad(), grad);
  };
  // H 3 -> 3 (factor 1.25: rows 0, 0, 1), W 2 -> 4 (factor 2.2: columns 0, 0, 0, 1).
  check({1, 2, 3, 2}, {1.25, 2.2},
        {{1, 2, 3, 4}, {-5, -5, -5, 2, -5, -5, -5, 2, -2, -2, -2, 5, 4, 4, 4, 0, 4, 4, 4, 0, -4, -4, -4, 3}},
        {18, 10, 27, 11, 0, 0, 90, 34, 63, 23, 0, 0});
  check({1, 2, 2, 2}, {2.2},
        {{1, 2, 4, 4}, {-5, -5, -5, 2, -5, -5, -5, 2, -5, -5, -5, 2, -2, -2, -2, 5,
                        1,  1,  1,  -3, 1,  1,  1,  -3, 1,  1,  1,  -3, 4,  4,  4,  0}},
        {45, 21, 39, 15, 189, 69, 87, 31});
}

TEST_CASE("bilinear copies a dim whose size a scale factor leaves unchanged, as PyTorch",
          "[upsample][bilinear][regression]") {
  // F.interpolate(pattern(1, 2, 2, 3), scale_factor=1.25, mode='bilinear'): both dims unchanged.
  Tensor x = pattern({1, 2, 2, 3});
  x.requires_grad_();
  Tensor y = interpolate(x, {.scale_factor = {1.25}, .mode = "bilinear"});
  CHECK(values(y) == values(x));
  y.backward(arange(0, 12, 1, {.dtype = f64}).reshape({1, 2, 2, 3}));
  require_values(x.grad(), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  // H 3 -> 3 copied, W 4 -> 5 interpolated with 1 / 1.25.
  Tensor z = pattern({1, 2, 3, 4});
  z.requires_grad_();
  y = interpolate(z, {.scale_factor = {1.25}, .mode = "bilinear"});
  require_output(y, {{1, 2, 3, 5},
                     {-5.0, -0.09999999999999953, 0.0, 0.10000000000000187, 5.0, 1.0, -1.8000000000000003, 0.5,
                      2.799999999999999, 0.0, -4.0, 0.9000000000000004, 1.0, -2.200000000000001, -5.0, 2.0,
                      -0.8000000000000003, 1.5, 3.799999999999999, 1.0, -3.0, 1.9000000000000004, 2.0,
                      -1.200000000000001, -4.0, 3.0, 0.19999999999999973, -3.0, -2.899999999999998, 2.0}});
  y.backward(arange(0, 30, 1, {.dtype = f64}).reshape({1, 2, 3, 5}));
  require_values(z.grad(), {0.29999999999999993, 1.7000000000000002, 3.099999999999999, 4.9, 6.8, 7.7,
                            9.099999999999998, 11.400000000000002, 13.299999999999999, 13.700000000000001,
                            15.099999999999996, 17.900000000000006, 19.799999999999997, 19.700000000000003,
                            21.099999999999994, 24.400000000000006, 26.299999999999997, 25.700000000000003,
                            27.099999999999994, 30.900000000000006, 32.8, 31.700000000000003, 33.099999999999994,
                            37.40000000000001},
                 1e-12);
  // The same in f32 through the fast kernels.
  CHECK(values(interpolate(pattern({1, 2, 2, 3}, f32), {.scale_factor = {1.25}, .mode = "bilinear"})) ==
        values(pattern({1, 2, 2, 3}, f32)));
}
