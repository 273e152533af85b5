// Error inputs of max, average, adaptive and global pooling, generated per
// spatial rank from one list.
//
// Not listed (PyTorch accepts them, xgrad does not): an unbatched input
// ([C, *spatial]); integer input to avg_pool*d; adaptive output_size 0 (PyTorch
// returns an empty tensor); adaptive_avg_pool*d of an input with an empty spatial
// dim (and so global_avg_pool of one); adaptive_avg_pool2d / 3d of inputs with more leading dims; max pooling
// whose windows pool padding only (PyTorch returns an empty output). Also not
// listed: padding between half the kernel and half the dilated kernel
// (kernel 3, dilation 2, padding 2), which PyTorch refuses but xgrad accepts by
// design (pooling.hpp documents the dilated-kernel rule).

#include "ops_errors_support.hpp"

namespace xgrad::testing::errors {

namespace {

using MaxFn = Tensor (*)(const Tensor&, const MaxPoolOptions&);
using MaxIndicesFn = PoolWithIndices (*)(const Tensor&, const MaxPoolOptions&);
using AvgFn = Tensor (*)(const Tensor&, const AvgPoolOptions&);
using AdaptiveFn = Tensor (*)(const Tensor&, const Spatial&);
using AdaptiveIndicesFn = PoolWithIndices (*)(const Tensor&, const Spatial&);

// The window options max and average pooling share, applied to input [2, 3, 6...].
// `call(shape, kernel, stride, padding, dilation)`; average pooling ignores dilation.
using WindowCall = std::function<std::function<void()>(Shape, Spatial, Spatial, Spatial, Spatial, DType)>;

void window_family(Cases& c, const std::string& op, std::size_t n, const WindowCall& call, bool is_max) {
  const Shape x = lead_then({2, 3}, n, 6);
  const auto name = [&](const char* what) { return op + "/" + what; };
  const auto k2 = [&](Spatial kernel, Spatial stride = {}, Spatial padding = {0}, Spatial dilation = {1}) {
    return call(x, std::move(kernel), std::move(stride), std::move(padding), std::move(dilation), f32);
  };
  expect<Error>(c, name("undefined"), op, call({}, {2}, {}, {0}, {1}, f32), {"undefined"});
  const Shape low = rep(n, 6), high = lead_then({1, 2, 3}, n, 6);
  expect<ShapeError>(c, name("rank_low"), op, call(low, {2}, {}, {0}, {1}, f32), {S(low)});
  expect<ShapeError>(c, name("rank_high"), op, call(high, {2}, {}, {0}, {1}, f32), {S(high)});
  Shape empty = x;
  empty.back() = 0;
  expect<ShapeError>(c, name("empty_spatial"), op, call(empty, {1}, {}, {0}, {1}, f32), {"empty", S(empty)});
  expect<ValueError>(c, name("kernel_missing"), op, k2({}), {"kernel"});
  expect<ValueError>(c, name("kernel_zero"), op, k2({0}), {"kernel", "[0]"});
  expect<ValueError>(c, name("kernel_negative"), op, k2({-1}), {"kernel", "[-1]"});
  const Shape many = rep(n + 1, 2);
  expect<ValueError>(c, name("kernel_count"), op, k2(many), {"kernel", S(many)});
  expect<ValueError>(c, name("stride_zero"), op, k2({2}, {0}), {"stride", "[0]"});
  expect<ValueError>(c, name("stride_negative"), op, k2({2}, {-2}), {"stride", "[-2]"});
  expect<ValueError>(c, name("stride_count"), op, k2({2}, many), {"stride", S(many)});
  expect<ValueError>(c, name("padding_negative"), op, k2({2}, {}, {-1}), {"padding", "[-1]"});
  expect<ValueError>(c, name("padding_over_half_kernel"), op, k2({2}, {}, {2}), {"padding 2", "extent 2"});
  expect<ValueError>(c, name("padding_over_half_kernel_3"), op, k2({3}, {1}, {2}), {"padding 2", "extent 3"});
  expect<ShapeError>(c, name("kernel_too_large"), op, k2({7}), {"kernel 7", "padded input 6"});
  if (!is_max) return;
  expect<DTypeError>(c, name("i64"), op, call(x, {2}, {}, {0}, {1}, i64), {"i64"});
  expect<ValueError>(c, name("dilation_zero"), op, k2({2}, {}, {0}, {0}), {"dilation", "[0]"});
  expect<ValueError>(c, name("dilation_negative"), op, k2({2}, {}, {0}, {-1}), {"dilation", "[-1]"});
  expect<ValueError>(c, name("dilation_count"), op, k2({2}, {}, {0}, many), {"dilation", S(many)});
  expect<ShapeError>(c, name("dilated_kernel_too_large"), op, k2({3}, {1}, {0}, {3}), {"kernel 7", "padded input 6"});
}

Tensor input(const Shape& shape, DType dtype) {
  if (shape.empty()) return Tensor();
  return zeros(shape, {.dtype = dtype});
}

WindowCall max_call(MaxFn fn) {
  return [fn](Shape x, Spatial k, Spatial s, Spatial p, Spatial d, DType t) -> std::function<void()> {
    return [=] { fn(input(x, t), {.kernel = k, .stride = s, .padding = p, .dilation = d}); };
  };
}
WindowCall max_indices_call(MaxIndicesFn fn) {
  return [fn](Shape x, Spatial k, Spatial s, Spatial p, Spatial d, DType t) -> std::function<void()> {
    return [=] { fn(input(x, t), {.kernel = k, .stride = s, .padding = p, .dilation = d}); };
  };
}
WindowCall avg_call(AvgFn fn) {
  return [fn](Shape x, Spatial k, Spatial s, Spatial p, Spatial, DType t) -> std::function<void()> {
    return [=] { fn(input(x, t), {.kernel = k, .stride = s, .padding = p}); };
  };
}

// input [2, 3, 6...]; `low` is an input rank PyTorch also refuses.
template <class Fn>
void adaptive_family(Cases& c, const std::string& op, std::size_t n, Fn fn, const Shape& low, bool is_max) {
  const Shape x = lead_then({2, 3}, n, 6);
  const auto name = [&](const char* what) { return op + "/" + what; };
  expect<Error>(c, name("undefined"), op, [=] { fn(Tensor(), {1}); }, {"undefined"});
  expect<DTypeError>(c, name("i64"), op, [=] { fn(ti64(x), {1}); }, {"i64"});
  expect<ShapeError>(c, name("rank"), op, [=] { fn(t32(low), {1}); }, {S(low)});
  expect<ValueError>(c, name("output_size_negative"), op, [=] { fn(t32(x), {-1}); }, {"output_size", "[-1]"});
  const Shape many = rep(n + 1, 1);
  expect<ValueError>(c, name("output_size_count"), op, [=] { fn(t32(x), many); }, {"output_size", S(many)});
  if (!is_max) return;
  Shape empty = x;
  empty.back() = 0;
  expect<ShapeError>(c, name("empty_spatial"), op, [=] { fn(t32(empty), {1}); }, {"empty", S(empty)});
  const Shape high = lead_then({1, 2, 3}, n, 6);
  expect<ShapeError>(c, name("rank_high"), op, [=] { fn(t32(high), {1}); }, {S(high)});
}

}  // namespace

Cases pool_cases() {
  Cases c;
  const std::pair<const char*, MaxFn> maxes[] = {{"max_pool1d", &max_pool1d}, {"max_pool2d", &max_pool2d},
                                                 {"max_pool3d", &max_pool3d}};
  const std::pair<const char*, MaxIndicesFn> with_indices[] = {{"max_pool1d_with_indices", &max_pool1d_with_indices},
                                                               {"max_pool2d_with_indices", &max_pool2d_with_indices},
                                                               {"max_pool3d_with_indices", &max_pool3d_with_indices}};
  const std::pair<const char*, AvgFn> avgs[] = {{"avg_pool1d", &avg_pool1d}, {"avg_pool2d", &avg_pool2d},
                                                {"avg_pool3d", &avg_pool3d}};
  for (std::size_t i = 0; i < 3; ++i) {
    window_family(c, maxes[i].first, i + 1, max_call(maxes[i].second), true);
    window_family(c, with_indices[i].first, i + 1, max_indices_call(with_indices[i].second), true);
    window_family(c, avgs[i].first, i + 1, avg_call(avgs[i].second), false);
  }
  adaptive_family(c, "adaptive_avg_pool1d", 1, &adaptive_avg_pool1d, {6}, false);
  adaptive_family(c, "adaptive_avg_pool2d", 2, &adaptive_avg_pool2d, {6}, false);
  adaptive_family(c, "adaptive_avg_pool3d", 3, &adaptive_avg_pool3d, {6, 6}, false);
  adaptive_family(c, "adaptive_max_pool2d", 2, &adaptive_max_pool2d, {6, 6}, true);
  adaptive_family(c, "adaptive_max_pool2d_with_indices", 2, &adaptive_max_pool2d_with_indices, {6, 6}, true);

  const char* g = "global_avg_pool";
  expect<Error>(c, "global_avg_pool/undefined", g, [] { global_avg_pool(Tensor()); }, {"undefined"});
  expect<ShapeError>(c, "global_avg_pool/no_spatial_dim", g, [] { global_avg_pool(t32({2, 3})); }, {"[2, 3]"});
  expect<ShapeError>(c, "global_avg_pool/vector", g, [] { global_avg_pool(t32({3})); }, {"[3]"});
  expect<DTypeError>(c, "global_avg_pool/i64", g, [] { global_avg_pool(ti64({2, 3, 4, 4})); }, {"i64"});
  return c;
}

TEST_CASE("pooling ops reject bad input with a clear error", "[errors][pool]") { run_cases(pool_cases()); }

}  // namespace xgrad::testing::errors
