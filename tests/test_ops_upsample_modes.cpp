// interpolate's modes beyond 2-D nearest and bilinear (ops/upsample.hpp): 3-D
// nearest, linear, area, nearest-exact; 4-D bicubic, area, nearest-exact; 5-D
// nearest, trilinear, area, nearest-exact; recompute_scale_factor. Values and
// gradients against PyTorch 1.13's F.interpolate (numbers computed there and
// written here), gradchecks to second order over the modes, ranks and options,
// f32, threads, views and nn::Upsample. Errors: tests/test_ops_errors_nn.cpp.

#include <functional>
#include <numeric>
#include <string>

#include "upsample_support.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {


// interpolate(pattern(shape), options) against PyTorch's output, and, where `grad`
// is given, the input's gradient for the output gradient 0, 1, 2, ...
void check(const Shape& shape, const InterpolateOptions& options, const Expected& out,
           const std::vector<double>& grad) {
  INFO("input " << shape_to_string(shape) << ", mode " << options.mode);
  Tensor x = pattern(shape);
  x.requires_grad_();
  const Tensor y = interpolate(x, options);
  require_output(y, out);
  if (grad.empty()) return;
  y.backward(arange(0, static_cast<double>(y.numel()), 1, {.dtype = f64}).reshape(y.shape()));
  require_values(x.grad(), grad, 1e-12);
}

}  // namespace

TEST_CASE("interpolate's other modes and ranks equal PyTorch's values and gradients", "[upsample][modes]") {
  // 3-D
  // nearest: F.interpolate(pattern(1, 2, 5), size=8, mode='nearest')
  check({1, 2, 5}, {.size = {8}, .mode = "nearest"},
        {{1, 2, 8}, {-5.0, -5.0, 2.0, 2.0, -2.0, 5.0, 5.0, 1.0, -3.0, -3.0, 4.0, 4.0, 0.0, -4.0, -4.0, 3.0}}, {});
  // nearest-exact rounds to the nearest pixel centre: F.interpolate(pattern(1, 2, 5), size=8, mode='nearest-exact')
  check({1, 2, 5}, {.size = {8}, .mode = "nearest-exact"},
        {{1, 2, 8}, {-5.0, -5.0, 2.0, -2.0, -2.0, 5.0, 1.0, 1.0, -3.0, -3.0, 4.0, 0.0, 0.0, -4.0, 3.0, 3.0}}, {});
  // nearest by a scale factor: F.interpolate(pattern(1, 1, 5), scale_factor=1.7, mode='nearest')
  check({1, 1, 5}, {.scale_factor = {1.7}, .mode = "nearest"},
        {{1, 1, 8}, {-5.0, -5.0, 2.0, 2.0, -2.0, -2.0, 5.0, 1.0}}, {});
  // nearest-exact by a scale factor: F.interpolate(pattern(1, 1, 5), scale_factor=1.7, mode='nearest-exact')
  check({1, 1, 5}, {.scale_factor = {1.7}, .mode = "nearest-exact"},
        {{1, 1, 8}, {-5.0, -5.0, 2.0, -2.0, -2.0, 5.0, 5.0, 1.0}}, {});
  // linear up: F.interpolate(pattern(1, 2, 5), size=8, mode='linear', align_corners=False)
  check({1, 2, 5}, {.size = {8}, .mode = "linear"},
        {{1, 2, 8},
         {-5.0, -1.9375, 1.75, -0.75, 0.1875, 4.5625, 2.75, 1.0, -3.0, 0.0625, 3.75, 1.25, -1.25, -3.75, -0.0625, 3.0}},
        {0.5625, 3.25, 5.25, 8.5625, 10.375, 13.0625, 16.75, 17.25, 22.0625, 22.875});
  // linear down, align_corners: F.interpolate(pattern(1, 2, 5), size=3, mode='linear', align_corners=True)
  check({1, 2, 5}, {.size = {3}, .mode = "linear", .align_corners = true},
        {{1, 2, 3}, {-5.0, -2.0, 1.0, -3.0, 0.0, 3.0}}, {0.0, 0.0, 1.0, 0.0, 2.0, 3.0, 0.0, 4.0, 0.0, 5.0});
  // linear by a scale factor: 1 / 1.7: F.interpolate(pattern(1, 1, 3), scale_factor=1.7, mode='linear',
  // align_corners=False)
  check({1, 1, 3}, {.scale_factor = {1.7}, .mode = "linear"},
        {{1, 1, 5}, {-5.0, -2.323529411764706, 1.7941176470588243, -0.23529411764705888, -2.0}}, {});
  // recompute_scale_factor: 3 / 5 instead: F.interpolate(pattern(1, 1, 3), scale_factor=1.7, mode='linear',
  // align_corners=False, recompute_scale_factor=True)
  check({1, 1, 3}, {.scale_factor = {1.7}, .mode = "linear", .recompute_scale_factor = true},
        {{1, 1, 5}, {-5.0, -2.2000000000000006, 2.0, -0.39999999999999947, -2.0}}, {});
  // area: windows of unequal sizes: F.interpolate(pattern(1, 2, 7), size=3, mode='area')
  check({1, 2, 7}, {.size = {3}, .mode = "area"},
        {{1, 2, 3},
         {-1.6666666666666667, 1.3333333333333333, 0.6666666666666666, -0.3333333333333333, -1.0, -1.6666666666666667}},
        {0.0, 0.0, 0.3333333333333333, 0.3333333333333333, 1.0, 0.6666666666666666, 0.6666666666666666, 1.0, 1.0,
         2.333333333333333, 1.3333333333333333, 3.0, 1.6666666666666667, 1.6666666666666667});
  // area up: F.interpolate(pattern(1, 1, 3), size=5, mode='area')
  check({1, 1, 3}, {.size = {5}, .mode = "area"}, {{1, 1, 5}, {-5.0, -1.5, 2.0, 0.0, -2.0}}, {});
  // 4-D
  // bicubic up: F.interpolate(pattern(1, 1, 3, 4), size=(5, 6), mode='bicubic', align_corners=False)
  check({1, 1, 3, 4}, {.size = {5, 6}, .mode = "bicubic"},
        {{1, 1, 5, 6},
         {-6.275305555555552,
          -1.0739999999999998,
          2.3138148148148177,
          -2.4098148148148124,
          0.9779999999999992,
          6.179305555555556,
          -2.4804027777777753,
          -1.4413749999999999,
          -0.09889814814814796,
          0.33239814814814855,
          2.1533750000000014,
          3.657152777777781,
          1.3472222222222217,
          -1.65625,
          -2.273148148148149,
          3.2731481481481475,
          2.65625,
          -0.3472222222222232,
          -1.796402777777777,
          -0.7573750000000009,
          0.7157268518518493,
          1.6695231481481474,
          -0.9246249999999967,
          -3.8359722222222183,
          -5.1793055555555565,
          0.02199999999999962,
          3.619120370370371,
          -0.2672870370370376,
          -3.9540000000000015,
          -5.827222222222226}},
        {3.9715138888888806, 7.83915740740741, 11.783356481481475, 15.201972222222231, 31.217999999999957,
         35.93600000000001, 40.101999999999975, 43.08000000000001, 55.14034722222215, 60.206324074074104,
         64.15052314814812, 66.37080555555559});
  // bicubic up, align_corners: F.interpolate(pattern(1, 1, 3, 4), size=(5, 6), mode='bicubic', align_corners=True)
  check({1, 1, 3, 4}, {.size = {5, 6}, .mode = "bicubic", .align_corners = true},
        {{1, 1, 5, 6},
         {-5.0,
          -0.2839999999999976,
          1.799999999999998,
          -1.8000000000000065,
          0.28399999999999614,
          5.0,
          -1.53125,
          -1.5177499999999993,
          -0.6080000000000017,
          0.8904999999999967,
          2.3241249999999987,
          2.96875,
          1.0,
          -2.2040000000000006,
          -2.0560000000000005,
          3.056,
          3.204000000000001,
          0.0,
          -0.9375,
          -0.9239999999999998,
          0.14250000000000163,
          2.1112500000000005,
          0.38375000000000226,
          -2.96875,
          -4.0,
          0.7160000000000017,
          3.064000000000003,
          0.2559999999999998,
          -2.9839999999999973,
          -5.0}},
        {1.8386250000000042, 6.1095, 10.615125000000003, 10.4055, 33.55625000000003, 51.43250000000001, 58.44125,
         46.882499999999986, 41.305125000000025, 60.018, 64.52362500000001, 49.871999999999986});
  // bicubic down (odd sizes): F.interpolate(pattern(1, 1, 5, 5), size=(2, 3), mode='bicubic', align_corners=False)
  check({1, 1, 5, 5}, {.size = {2, 3}, .mode = "bicubic"},
        {{1, 1, 2, 3},
         {-0.8084490740740732, -0.6640625, 0.8330439814814826, 0.15436921296296208, 2.171875, -2.9553674768518516}},
        {0.0,
         0.0,
         0.2013888888888896,
         0.16782407407407388,
         0.31047453703703715,
         0.0,
         0.0,
         0.7812500000000027,
         0.6510416666666659,
         1.204427083333334,
         -0.216796875,
         -0.11718750000000003,
         -0.4687500000000009,
         -0.27343749999999967,
         -0.5058593750000002,
         1.806640625,
         0.9765625000000002,
         3.125000000000005,
         1.6276041666666645,
         3.011067708333335,
         0.46571180555555547,
         0.25173611111111116,
         0.8055555555555568,
         0.4195601851851847,
         0.7761863425925929});
  // bicubic down, align_corners: F.interpolate(pattern(1, 1, 5, 5), size=(2, 3), mode='bicubic', align_corners=True)
  check({1, 1, 5, 5}, {.size = {2, 3}, .mode = "bicubic", .align_corners = true},
        {{1, 1, 2, 3}, {-5.0, -2.0, 1.0, 3.0, -5.0, -2.0}}, {});
  // bicubic by a scale factor: F.interpolate(pattern(1, 1, 3, 5), scale_factor=1.5, mode='bicubic',
  // align_corners=False)
  check({1, 1, 3, 5}, {.scale_factor = {1.5}, .mode = "bicubic"},
        {{1, 1, 4, 7}, {-5.78125,           -1.2986111111111114, 1.7218484760802515,  -2.1685353973765413,
                        1.8933376736111107, 5.760661811985598,   1.6756084426440367,  -4.884657118055555,
                        0.2998046874999993, 3.792787905092594,   -0.4561993634259253, -1.0498046874999998,
                        0.6579861111111129, 1.62326388888889,    -3.0099504886831263, 0.3982928240740729,
                        3.091064118227021,  1.3323782043038412,  -2.989547164351852,  -3.7826525527263386,
                        2.2329563721707815, -1.0421328446502067, -2.9712094907407414, -3.032976733967765,
                        1.291392050325788,  -0.513708043981482,  -1.7750490290637861, 3.6428875707304518}},
        {});
  // bicubic, recompute_scale_factor: F.interpolate(pattern(1, 1, 3, 5), scale_factor=1.5, mode='bicubic',
  // align_corners=False, recompute_scale_factor=True)
  check({1, 1, 3, 5}, {.scale_factor = {1.5}, .mode = "bicubic", .recompute_scale_factor = true},
        {{1, 1, 4, 7},
         {-5.694575095663268,   -0.6625051248177868, 1.22570694014213,    -2.1435546875,       3.9394474307580203,
          4.4527847690415445,   0.47942528015670405, -4.586579525783529,  1.368598248451164,   3.7928235468294456,
          -0.9404296875,        -1.526744431031338,  0.2942898141399431,  2.298566189868807,   -2.2985661898688052,
          -0.29428981413994254, 1.5267444310313396,  0.9404296875,        -3.7928235468294464, -1.3685982484511634,
          4.586579525783534,    -0.4794252801567059, -4.4527847690415445, -3.939447430758017,  2.1435546875,
          -1.2257069401421337,  0.6625051248177869,  5.6945750956632715}},
        {});
  // bicubic to one pixel: F.interpolate(pattern(1, 1, 3, 4), size=(1, 1), mode='bicubic', align_corners=False)
  check({1, 1, 3, 4}, {.size = {1, 1}, .mode = "bicubic"}, {{1, 1, 1, 1}, {0.5}}, {});
  // area down: F.interpolate(pattern(1, 1, 5, 5), size=(2, 3), mode='area')
  check({1, 1, 5, 5}, {.size = {2, 3}, .mode = "area"},
        {{1, 1, 2, 3}, {-1.3333333333333333, 0.0, 1.3333333333333333, -1.0, -0.8888888888888888, -0.16666666666666666}},
        {0.0, 0.1111111111111111, 0.1111111111111111, 0.4444444444444444, 0.3333333333333333,
         0.0, 0.1111111111111111, 0.1111111111111111, 0.4444444444444444, 0.3333333333333333,
         0.5, 1.0555555555555556, 0.5555555555555556, 1.7222222222222223, 1.1666666666666667,
         0.5, 0.9444444444444444, 0.4444444444444444, 1.2777777777777777, 0.8333333333333334,
         0.5, 0.9444444444444444, 0.4444444444444444, 1.2777777777777777, 0.8333333333333334});
  // area by a scale factor (output floor(5 * 0.5)): F.interpolate(pattern(1, 1, 5, 5), scale_factor=0.5, mode='area')
  check({1, 1, 5, 5}, {.scale_factor = {0.5}, .mode = "area"},
        {{1, 1, 2, 2}, {-0.8888888888888888, 0.8888888888888888, -0.5555555555555556, 0.0}}, {});
  // nearest-exact: F.interpolate(pattern(1, 1, 3, 5), size=(5, 3), mode='nearest-exact')
  check({1, 1, 3, 5}, {.size = {5, 3}, .mode = "nearest-exact"},
        {{1, 1, 5, 3}, {-5.0, -2.0, 1.0, -5.0, -2.0, 1.0, -3.0, 0.0, 3.0, -1.0, 2.0, 5.0, -1.0, 2.0, 5.0}},
        {3.0, 0.0, 5.0, 0.0, 7.0, 6.0, 0.0, 7.0, 0.0, 8.0, 21.0, 0.0, 23.0, 0.0, 25.0});
  // nearest-exact by scale factors: F.interpolate(pattern(1, 2, 3, 4), scale_factor=(1.5, 0.7), mode='nearest-exact')
  check({1, 2, 3, 4}, {.scale_factor = {1.5, 0.7}, .mode = "nearest-exact"},
        {{1, 2, 4, 2}, {-5.0, -2.0, 1.0, 4.0, 1.0, 4.0, -4.0, -1.0, 2.0, 5.0, -3.0, 0.0, -3.0, 0.0, 3.0, -5.0}}, {});
  // nearest, recompute_scale_factor: F.interpolate(pattern(1, 1, 3, 4), scale_factor=(1.7, 1.3), mode='nearest',
  // recompute_scale_factor=True)
  check({1, 1, 3, 4}, {.scale_factor = {1.7, 1.3}, .mode = "nearest", .recompute_scale_factor = true},
        {{1, 1, 5, 5}, {-5.0, -5.0, 2.0, -2.0, 5.0,  -5.0, -5.0, 2.0,  -2.0, 5.0, 1.0,  1.0, -3.0,
                        4.0,  0.0,  1.0, 1.0,  -3.0, 4.0,  0.0,  -4.0, -4.0, 3.0, -1.0, -5.0}},
        {});
  // 5-D
  // trilinear: F.interpolate(pattern(1, 1, 2, 3, 2), size=(3, 4, 3), mode='trilinear', align_corners=False)
  check({1, 1, 2, 3, 2}, {.size = {3, 4, 3}, .mode = "trilinear"},
        {{1, 1, 3, 4, 3},
         {-5.0,
          -1.5,
          2.0,
          -3.125,
          0.3749999999999997,
          3.8750000000000004,
          -0.875,
          0.5624999999999999,
          2.0,
          1.0,
          -0.9999999999999998,
          -3.0,
          -0.5000000000000002,
          0.2499999999999999,
          1.0,
          -2.0625,
          0.4062499999999997,
          2.8750000000000004,
          -1.8749999999999998,
          -0.43749999999999994,
          0.9999999999999999,
          6.245004513516506e-17,
          -1.9999999999999996,
          -4.0,
          4.0,
          2.0,
          0.0,
          -1.0000000000000002,
          0.4374999999999998,
          1.8750000000000002,
          -2.875,
          -1.4375,
          2.8622937353617317e-16,
          -1.0,
          -2.9999999999999996,
          -4.999999999999999}},
        {15.9375, 20.0625, 24.84375, 28.59375, 38.71875, 42.84374999999999, 65.4375, 69.5625, 69.84375,
         73.59374999999999, 88.21875, 92.34374999999997});
  // trilinear, align_corners: F.interpolate(pattern(1, 1, 2, 3, 2), size=(3, 2, 3), mode='trilinear',
  // align_corners=True)
  check({1, 1, 2, 3, 2}, {.size = {3, 2, 3}, .mode = "trilinear", .align_corners = true},
        {{1, 1, 3, 2, 3},
         {-5.0, -1.5, 2.0, 1.0, -1.0, -3.0, -0.5, 0.25, 1.0, 0.0, -2.0, -4.0, 4.0, 2.0, 0.0, -1.0, -3.0, -5.0}},
        {5.25, 8.25, 0.0, 0.0, 12.0, 15.0, 23.25, 26.25, 0.0, 0.0, 30.0, 33.0});
  // trilinear by scale factors: F.interpolate(pattern(1, 1, 2, 3, 2), scale_factor=(1.5, 1.0, 2.0), mode='trilinear',
  // align_corners=False)
  check({1, 1, 2, 3, 2}, {.scale_factor = {1.5, 1.0, 2.0}, .mode = "trilinear"},
        {{1, 1, 3, 3, 4},
         {-5.0,
          -3.25,
          0.25,
          2.0,
          -2.0,
          -0.25,
          3.25,
          5.0,
          1.0,
          0.0,
          -2.0,
          -3.0,
          -0.5000000000000002,
          -0.12500000000000022,
          0.625,
          1.0,
          -3.0,
          -1.2499999999999998,
          2.25,
          4.0,
          5.551115123125783e-17,
          -0.9999999999999999,
          -2.9999999999999996,
          -3.9999999999999996,
          4.0,
          3.0,
          1.0,
          0.0,
          -4.0,
          -2.25,
          1.25,
          3.0,
          -1.0,
          -2.0,
          -4.0,
          -5.0}},
        {});
  // nearest: F.interpolate(pattern(1, 1, 2, 3, 2), scale_factor=(1.5, 1.0, 2.0), mode='nearest')
  check({1, 1, 2, 3, 2}, {.scale_factor = {1.5, 1.0, 2.0}, .mode = "nearest"},
        {{1, 1, 3, 3, 4},
         {-5.0, -5.0, 2.0, 2.0, -2.0, -2.0, 5.0, 5.0, 1.0, 1.0, -3.0, -3.0, -5.0, -5.0, 2.0,  2.0,  -2.0, -2.0,
          5.0,  5.0,  1.0, 1.0, -3.0, -3.0, 4.0, 4.0, 0.0, 0.0, -4.0, -4.0, 3.0,  3.0,  -1.0, -1.0, -5.0, -5.0}},
        {26.0, 34.0, 42.0, 50.0, 58.0, 66.0, 49.0, 53.0, 57.0, 61.0, 65.0, 69.0});
  // nearest-exact: F.interpolate(pattern(1, 1, 2, 3, 2), scale_factor=1.5, mode='nearest-exact')
  check({1, 1, 2, 3, 2}, {.scale_factor = {1.5}, .mode = "nearest-exact"},
        {{1, 1, 3, 4, 3},
         {-5.0, 2.0, 2.0, -2.0, 5.0,  5.0,  -2.0, 5.0, 5.0, 1.0,  -3.0, -3.0, 4.0,  0.0, 0.0, -4.0, 3.0,  3.0,
          -4.0, 3.0, 3.0, -1.0, -5.0, -5.0, 4.0,  0.0, 0.0, -4.0, 3.0,  3.0,  -4.0, 3.0, 3.0, -1.0, -5.0, -5.0}},
        {});
  // area: F.interpolate(pattern(1, 1, 2, 3, 4), size=(1, 2, 3), mode='area')
  check({1, 1, 2, 3, 4}, {.size = {1, 2, 3}, .mode = "area"}, {{1, 1, 1, 2, 3}, {-0.5, 1.0, 1.125, 0.0, 0.125, -1.125}},
        {0.0, 0.125, 0.375, 0.25, 0.375, 1.0, 1.5, 0.875, 0.375, 0.875, 1.125, 0.625,
         0.0, 0.125, 0.375, 0.25, 0.375, 1.0, 1.5, 0.875, 0.375, 0.875, 1.125, 0.625});
}

TEST_CASE("bicubic in f32 computes in float, as PyTorch", "[upsample][modes][f32]") {
  // F.interpolate(pattern(1, 1, 3, 4).float(), size=(5, 6), mode='bicubic')
  require_values(interpolate(pattern({1, 1, 3, 4}, f32), {.size = {5, 6}, .mode = "bicubic"}),
                 {-6.2753071784973145, -1.0740001201629639,
                  2.3138134479522705,  -2.409816026687622,
                  0.9780011773109436,  6.179305076599121,
                  -2.4804022312164307, -1.4413747787475586,
                  -0.0988989844918251, 0.33239832520484924,
                  2.153374433517456,   3.65714955329895,
                  1.3472223281860352,  -1.65625,
                  -2.2731478214263916, 3.273148536682129,
                  2.6562492847442627,  -0.347221702337265,
                  -1.7964048385620117, -0.7573751211166382,
                  0.7157273292541504,  1.6695222854614258,
                  -0.9246257543563843, -3.835970640182495,
                  -5.17930793762207,   0.021999910473823547,
                  3.6191203594207764,  -0.2672877013683319,
                  -3.954000473022461,  -5.8272223472595215},
                 2e-6);
  manual_seed(10);
  const Tensor x = randn({2, 3, 5, 4}, {.dtype = f64});
  const Tensor v = randn({1, 2, 3, 4, 5}, {.dtype = f64});
  const Tensor l = randn({2, 3, 7}, {.dtype = f64});
  const auto agree = [](const Tensor& in, const InterpolateOptions& o) {
    INFO("mode " << o.mode);
    require_values(interpolate(in.to(f32), o), values(interpolate(in, o)), 1e-5);
  };
  for (const bool ac : {false, true}) {
    agree(x, {.size = {7, 3}, .mode = "bicubic", .align_corners = ac});
    agree(v, {.size = {2, 5, 7}, .mode = "trilinear", .align_corners = ac});
    agree(l, {.size = {11}, .mode = "linear", .align_corners = ac});
  }
  for (const char* mode : {"area", "nearest-exact", "nearest"}) {
    agree(x, {.size = {3, 6}, .mode = mode});
    agree(v, {.size = {4, 2, 3}, .mode = mode});
    agree(l, {.scale_factor = {1.6}, .mode = mode});
  }
}

TEST_CASE("interpolate's other modes: gradients over the grid", "[upsample][modes][gradcheck]") {
  manual_seed(11);
  struct Grid {
    std::vector<Shape> inputs;
    std::vector<std::vector<std::int64_t>> sizes;
    std::vector<std::vector<double>> factors;
    std::vector<std::string> modes;
  };
  const std::vector<Grid> grids{
      {{{1, 1, 5}, {2, 3, 4}, {1, 2, 1}},
       {{9}, {3}, {1}, {4}},
       {{1.7}, {0.6}, {2.0}},
       {"nearest", "nearest-exact", "area", "linear"}},
      {{{1, 1, 3, 4}, {2, 1, 5, 3}, {1, 2, 1, 2}},
       {{5, 7}, {2, 3}, {1, 1}, {4}},
       {{1.5, 0.7}, {2.0}, {1.25}},
       {"bicubic", "nearest-exact", "area"}},
      {{{1, 1, 2, 3, 3}, {2, 1, 3, 2, 1}},
       {{3, 4, 2}, {1, 2, 1}, {2}},
       {{1.5, 0.7, 2.0}, {1.3}},
       {"nearest", "nearest-exact", "area", "trilinear"}},
  };
  for (const Grid& grid : grids)
    for (const Shape& shape : grid.inputs)
      for (const std::string& mode : grid.modes) {
        const bool interpolating = mode == "linear" || mode == "bicubic" || mode == "trilinear";
        const Tensor x = leaf(shape);
        std::vector<InterpolateOptions> options;
        for (const auto& size : grid.sizes) options.push_back({.size = size, .mode = mode});
        for (const auto& factor : grid.factors) {
          bool empty = false;  // a factor that leaves no output (0.6 of 1)
          for (std::size_t d = 2; d < shape.size(); ++d)
            empty = empty || shape[d] * factor[factor.size() == 1 ? 0 : d - 2] < 1.0;
          if (empty) continue;
          options.push_back({.scale_factor = factor, .mode = mode});
          options.push_back({.scale_factor = factor, .mode = mode, .recompute_scale_factor = true});
        }
        for (const InterpolateOptions& base : options)
          for (const bool ac : {false, true}) {
            if (ac && !interpolating) continue;
            InterpolateOptions o = base;
            o.align_corners = ac;
            INFO("input " << shape_to_string(shape) << ", mode " << mode << ", size " << shape_to_string(o.size)
                          << ", scale_factor " << o.scale_factor.size() << " values, align_corners " << ac
                          << ", recompute " << o.recompute_scale_factor.has_value());
            require_gradchecks([&](const std::vector<Tensor>& in) { return interpolate(in[0], o); }, {x});
          }
      }
}

TEST_CASE("interpolate's other modes read strided views", "[upsample][modes][views]") {
  manual_seed(12);
  const Tensor base = leaf({1, 2, 4, 3});
  const Tensor volume = leaf({1, 2, 3, 2, 4});
  const Tensor line = leaf({3, 2, 5});  // transposed to [2, 3, 5]
  for (const char* mode : {"bicubic", "area", "nearest-exact"}) {
    INFO("mode " << mode);
    const InterpolateOptions o{.size = {5, 7}, .mode = mode};
    CHECK(values(interpolate(base.transpose(2, 3), o)) == values(interpolate(base.transpose(2, 3).contiguous(), o)));
    require_gradchecks([&](const std::vector<Tensor>& in) { return interpolate(in[0].transpose(2, 3), o); }, {base});
  }
  for (const char* mode : {"trilinear", "area", "nearest"}) {
    INFO("mode " << mode);
    const InterpolateOptions o{.size = {2, 3, 5}, .mode = mode};
    require_gradchecks([&](const std::vector<Tensor>& in) { return interpolate(in[0].transpose(2, 4), o); }, {volume});
  }
  require_gradchecks(
      [&](const std::vector<Tensor>& in) {
        return interpolate(in[0].transpose(0, 1), {.size = {8}, .mode = "linear", .align_corners = true});
      },
      {line});
  // An empty batch resizes to an empty batch.
  CHECK(interpolate(zeros({0, 3, 4}), {.size = {8}, .mode = "linear"}).shape() == Shape{0, 3, 8});
  CHECK(interpolate(zeros({2, 0, 4, 4}), {.size = {8}, .mode = "bicubic"}).shape() == Shape{2, 0, 8, 8});
}

TEST_CASE("interpolate's other modes give the same results on 1 and 2 threads", "[upsample][modes][threads]") {
  manual_seed(13);
  const Tensor x = randn({2, 8, 16, 16}, {.requires_grad = true});
  const Tensor v = randn({2, 4, 8, 8, 8}, {.requires_grad = true});
  const auto run = [&](int threads) {
    set_num_threads(threads);
    x.set_grad(Tensor());
    v.set_grad(Tensor());
    const Tensor a = interpolate(x, {.size = {40, 24}, .mode = "bicubic"});
    const Tensor b = interpolate(v, {.size = {16, 12, 8}, .mode = "trilinear"});
    (a * a).sum().backward();
    (b * b).sum().backward();
    std::vector<double> out = values(a);
    for (const Tensor& t : {b, x.grad(), v.grad()}) {
      const std::vector<double> more = values(t);
      out.insert(out.end(), more.begin(), more.end());
    }
    return out;
  };
  const int threads = get_num_threads();
  const std::vector<double> one = run(1);
  const std::vector<double> two = run(2);
  set_num_threads(threads);
  CHECK(one == two);
}

TEST_CASE("nn::Upsample takes interpolate's other modes", "[upsample][modes][nn]") {
  manual_seed(14);
  const Tensor x = randn({1, 2, 3, 4});
  nn::Upsample cubic({.scale_factor = {1.5}, .mode = "bicubic", .align_corners = true});
  CHECK(values(cubic(x)) == values(interpolate(x, {.scale_factor = {1.5}, .mode = "bicubic", .align_corners = true})));
  CHECK(cubic.extra_repr() == "scale_factor=[1.5], mode='bicubic', align_corners=true");
  const Tensor v = randn({1, 1, 2, 3, 4});
  nn::Upsample tri({.scale_factor = {2, 1.5, 0.5}, .mode = "trilinear", .recompute_scale_factor = true});
  CHECK(values(tri(v)) ==
        values(interpolate(v, {.scale_factor = {2, 1.5, 0.5}, .mode = "trilinear", .recompute_scale_factor = true})));
  CHECK(tri.extra_repr() == "scale_factor=[2, 1.5, 0.5], mode='trilinear', recompute_scale_factor=true");
  nn::Upsample area({.size = {2}, .mode = "area"});
  CHECK(values(area(randn({2, 3, 5}))).size() == 12);
  XGRAD_REQUIRE_THROWS_WITH(nn::Upsample({.size = {2}, .mode = "area", .align_corners = true}), ValueError, "Upsample",
                            "align_corners", "\"area\"");
  XGRAD_REQUIRE_THROWS_WITH(nn::Upsample({.size = {2}, .recompute_scale_factor = true}), ValueError, "Upsample",
                            "recompute_scale_factor");
  XGRAD_REQUIRE_THROWS_WITH(nn::Upsample({.size = {2, 2, 2, 2}}), ValueError, "Upsample", "[2, 2, 2, 2]");
  // The rank is checked at forward.
  nn::Upsample linear({.size = {4}, .mode = "linear"});
  XGRAD_REQUIRE_THROWS_WITH(linear(x), ValueError, "interpolate", "\"linear\"", "3-D", "4-D");
}

// As in 2-D (tests/test_ops_upsample.cpp): PyTorch 1.13's 1-D and 3-D nearest read
// floor(o / factor) forward even where a factor leaves the size unchanged (1.25 on
// 3: 0, 0, 1), but its backward short-cuts to the identity there (gradient 0, 1, 2
// for the output gradient 0, 1, 2), which is not the adjoint of its forward. xgrad
// differentiates its forward exactly.
TEST_CASE("1-D and 3-D nearest with a factor that keeps the size: PyTorch's forward, the exact gradient",
          "[upsample][modes][nearest][regression]") {
  for (const Shape& shape : {Shape{1, 1, 3}, Shape{1, 1, 3, 1, 1}}) {
    INFO("input " << shape_to_string(shape));
    Tensor x = arange(0, 3, 1, {.dtype = f64}).reshape(shape);
    x.requires_grad_();
    std::vector<double> factor(shape.size() - 2, 1.0);
    factor[0] = 1.25;
    const Tensor y = interpolate(x, {.scale_factor = factor});
    require_values(y, {0, 0, 1});  // F.interpolate(x, scale_factor=1.25): 0, 0, 1
    y.backward(arange(0, 3, 1, {.dtype = f64}).reshape(shape));
    require_values(x.grad(), {1, 2, 0});
  }
}
