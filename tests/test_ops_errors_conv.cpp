// Error inputs of conv1d/2d/3d and conv_transpose1d/2d/3d, generated per spatial
// rank from one list so that every rank gets every category.
//
// Not listed (PyTorch accepts them, xgrad does not): an unbatched input
// ([C, *spatial], PyTorch adds the batch dim); integer input and weight (PyTorch's
// CPU kernels compute in i64).

#include "ops_errors_support.hpp"

namespace xgrad::testing::errors {

namespace {

using ConvFn = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const ConvOptions&);
using ConvTransposeFn = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const ConvTransposeOptions&);

// input [2, 4, 5...], weight [6, 4, 3...], bias [6].
void conv_family(Cases& c, const std::string& op, std::size_t n, ConvFn fn) {
  const Shape x = lead_then({2, 4}, n, 5), w = lead_then({6, 4}, n, 3);
  const auto name = [&](const char* what) { return op + "/" + what; };
  const auto call = [fn](Shape xs, Shape ws, Shape bs, ConvOptions o) {
    return [=] { fn(t32(xs), t32(ws), bs.empty() ? Tensor() : t32(bs), o); };
  };
  expect<Error>(c, name("undefined_input"), op, [=] { fn(Tensor(), t32(w), Tensor(), {}); }, {"input", "undefined"});
  expect<Error>(c, name("undefined_weight"), op, [=] { fn(t32(x), Tensor(), Tensor(), {}); }, {"weight", "undefined"});
  expect<DTypeError>(c, name("weight_dtype"), op, [=] { fn(t32(x), t64(w), Tensor(), {}); }, {"f32", "f64", S(w)});
  expect<DTypeError>(c, name("bias_dtype"), op, [=] { fn(t32(x), t32(w), t64({6}), {}); }, {"f32", "f64", "[6]"});
  expect<DTypeError>(c, name("input_f64_weight_f32"), op, [=] { fn(t64(x), t32(w), Tensor(), {}); }, {"f64", "f32"});
  const Shape low = rep(n, 5), high = lead_then({1, 2, 4}, n, 5);
  expect<ShapeError>(c, name("input_rank_low"), op, call(low, w, {}, {}), {S(low)});
  expect<ShapeError>(c, name("input_rank_high"), op, call(high, w, {}, {}), {S(high)});
  const Shape w_low = lead_then({6, 4}, n - 1, 3);
  expect<ShapeError>(c, name("weight_rank"), op, call(x, w_low, {}, {}), {"weight", S(w_low)});
  const Shape x5 = lead_then({2, 5}, n, 5);
  expect<ShapeError>(c, name("channels"), op, call(x5, w, {}, {}), {"5 channels", "expects 4", S(x5), S(w)});
  const Shape x3 = lead_then({8, 3}, n, 32), w3 = lead_then({16, 4}, n, 3);
  expect<ShapeError>(c, name("channels_design_example"), op, call(x3, w3, {}, {}), {"3 channels", S(x3), S(w3)});
  expect<ValueError>(c, name("groups_zero"), op, call(x, w, {}, {.groups = 0}), {"groups", "0"});
  expect<ValueError>(c, name("groups_negative"), op, call(x, w, {}, {.groups = -1}), {"groups", "-1"});
  expect<ValueError>(c, name("groups_input_channels"), op, call(x, w, {}, {.groups = 3}),
                     {"4 channels", "groups = 3", S(x)});
  const Shape w5 = lead_then({5, 2}, n, 3);
  expect<ValueError>(c, name("groups_output_channels"), op, call(x, w5, {}, {.groups = 2}),
                     {"5 output channels", "groups = 2", S(w5)});
  expect<ShapeError>(c, name("groups_weight_channels"), op, call(x, w, {}, {.groups = 2}),
                     {"expects 8", "4 per group x 2 groups", S(w)});
  expect<ShapeError>(c, name("bias_shape"), op, call(x, w, {5}, {}), {"[5]", S(w), "[6]"});
  expect<ShapeError>(c, name("bias_rank"), op, call(x, w, {1, 6}, {}), {"[1, 6]"});
  expect<ValueError>(c, name("stride_zero"), op, call(x, w, {}, {.stride = {0}}), {"stride", "[0]"});
  expect<ValueError>(c, name("stride_negative"), op, call(x, w, {}, {.stride = {-1}}), {"stride", "[-1]"});
  expect<ValueError>(c, name("dilation_zero"), op, call(x, w, {}, {.dilation = {0}}), {"dilation", "[0]"});
  expect<ValueError>(c, name("padding_negative"), op, call(x, w, {}, {.padding = {-1}}), {"padding", "[-1]"});
  expect<ValueError>(c, name("padding_asymmetric_negative"), op,
                     call(x, w, {}, {.padding = Padding::asymmetric({0}, {-2})}), {"padding", "[-2]"});
  const Shape many = rep(n + 1, 1);
  expect<ValueError>(c, name("stride_count"), op, call(x, w, {}, {.stride = many}),
                     {"stride", S(many), std::to_string(n) + " spatial dims"});
  expect<ValueError>(c, name("dilation_count"), op, call(x, w, {}, {.dilation = many}), {"dilation", S(many)});
  expect<ValueError>(c, name("padding_count"), op, call(x, w, {}, {.padding = Padding::asymmetric(many, many)}),
                     {"padding", S(many)});
  expect<ValueError>(c, name("same_strided"), op, call(x, w, {}, {.stride = {2}, .padding = "same"}),
                     {"same", "stride"});
  const Shape w7 = lead_then({6, 4}, n, 7);
  expect<ShapeError>(c, name("kernel_too_large"), op, call(x, w7, {}, {}), {"kernel 7", "padded input 5"});
  expect<ShapeError>(c, name("dilated_kernel_too_large"), op, call(x, w, {}, {.dilation = {3}}),
                     {"kernel 7", "padded input 5", "dilation 3"});
  Shape w0 = w;
  w0.back() = 0;
  expect<ShapeError>(c, name("empty_kernel"), op, call(x, w0, {}, {}), {"empty kernel", S(w0)});
  const Shape x0 = lead_then({2, 4}, n, 0);
  expect<ShapeError>(c, name("empty_spatial_input"), op, call(x0, w, {}, {}), {"kernel 3", "padded input 0"});
}

// input [2, 4, 5...], weight [4, 3, 3...] (C_in 4, C_out 3), bias [3].
void conv_transpose_family(Cases& c, const std::string& op, std::size_t n, ConvTransposeFn fn) {
  const Shape x = lead_then({2, 4}, n, 5), w = lead_then({4, 3}, n, 3);
  const auto name = [&](const char* what) { return op + "/" + what; };
  const auto call = [fn](Shape xs, Shape ws, Shape bs, ConvTransposeOptions o) {
    return [=] { fn(t32(xs), t32(ws), bs.empty() ? Tensor() : t32(bs), o); };
  };
  const auto opts = [](Spatial stride, Spatial output_padding, Spatial dilation) {
    return ConvTransposeOptions{.stride = stride, .output_padding = output_padding, .dilation = dilation};
  };
  expect<Error>(c, name("undefined_input"), op, [=] { fn(Tensor(), t32(w), Tensor(), {}); }, {"input", "undefined"});
  expect<Error>(c, name("undefined_weight"), op, [=] { fn(t32(x), Tensor(), Tensor(), {}); }, {"weight", "undefined"});
  expect<DTypeError>(c, name("weight_dtype"), op, [=] { fn(t32(x), t64(w), Tensor(), {}); }, {"f32", "f64"});
  expect<DTypeError>(c, name("bias_dtype"), op, [=] { fn(t32(x), t32(w), t64({3}), {}); }, {"f32", "f64", "[3]"});
  const Shape low = rep(n, 5), high = lead_then({1, 2, 4}, n, 5);
  expect<ShapeError>(c, name("input_rank_low"), op, call(low, w, {}, {}), {S(low)});
  expect<ShapeError>(c, name("input_rank_high"), op, call(high, w, {}, {}), {S(high)});
  const Shape w_low = lead_then({4, 3}, n - 1, 3);
  expect<ShapeError>(c, name("weight_rank"), op, call(x, w_low, {}, {}), {"weight", S(w_low)});
  const Shape x5 = lead_then({2, 5}, n, 5);
  expect<ShapeError>(c, name("channels"), op, call(x5, w, {}, {}), {"5 channels", "expects 4", S(x5), S(w)});
  expect<ValueError>(c, name("groups_zero"), op, call(x, w, {}, {.groups = 0}), {"groups", "0"});
  expect<ValueError>(c, name("groups_negative"), op, call(x, w, {}, {.groups = -2}), {"groups", "-2"});
  expect<ValueError>(c, name("groups_input_channels"), op, call(x, w, {}, {.groups = 3}), {"4 channels", "groups = 3"});
  expect<ShapeError>(c, name("bias_shape"), op, call(x, w, {4}, {}), {"[4]", S(w), "[3]"});
  expect<ShapeError>(c, name("bias_shape_groups"), op, call(x, w, {3}, {.groups = 2}), {"[3]", "[6]"});
  expect<ValueError>(c, name("stride_zero"), op, call(x, w, {}, {.stride = {0}}), {"stride", "[0]"});
  expect<ValueError>(c, name("dilation_zero"), op, call(x, w, {}, {.dilation = {0}}), {"dilation", "[0]"});
  expect<ValueError>(c, name("padding_negative"), op, call(x, w, {}, {.padding = {-1}}), {"padding", "[-1]"});
  expect<ValueError>(c, name("output_padding_negative"), op, call(x, w, {}, opts({2}, {-1}, {1})),
                     {"output_padding", "[-1]"});
  expect<ValueError>(c, name("output_padding_ge_stride_1"), op, call(x, w, {}, opts({1}, {1}, {1})),
                     {"output_padding " + S(rep(n, 1)), "stride " + S(rep(n, 1))});
  expect<ValueError>(c, name("output_padding_ge_stride_2"), op, call(x, w, {}, opts({2}, {2}, {1})),
                     {"output_padding " + S(rep(n, 2)), "stride " + S(rep(n, 2))});
  expect<ValueError>(c, name("output_padding_ge_stride_and_dilation"), op, call(x, w, {}, opts({2}, {3}, {3})),
                     {"output_padding " + S(rep(n, 3)), "dilation " + S(rep(n, 3))});
  Spatial one_dim_bad(n, 0);
  one_dim_bad.back() = 2;
  expect<ValueError>(c, name("output_padding_last_dim"), op, call(x, w, {}, opts({2}, one_dim_bad, {1})),
                     {"output_padding " + S(one_dim_bad)});
  const Shape many = rep(n + 1, 0);
  expect<ValueError>(c, name("output_padding_count"), op, call(x, w, {}, opts({1}, many, {1})),
                     {"output_padding", S(many)});
  expect<ShapeError>(c, name("output_too_small"), op, call(x, w, {}, {.padding = {5}}),
                     {"would have size -3", S(x)});
  Shape w0 = w;
  w0.back() = 0;
  expect<ShapeError>(c, name("empty_kernel"), op, call(x, w0, {}, {}), {"empty kernel", S(w0)});
}

}  // namespace

Cases conv_cases() {
  Cases c;
  expect<ValueError>(c, "Padding/unknown_mode", "Padding", [] { ConvOptions o{.padding = "full"}; }, {"\"full\""});
  conv_family(c, "conv1d", 1, &conv1d);
  conv_family(c, "conv2d", 2, &conv2d);
  conv_family(c, "conv3d", 3, &conv3d);
  conv_transpose_family(c, "conv_transpose1d", 1, &conv_transpose1d);
  conv_transpose_family(c, "conv_transpose2d", 2, &conv_transpose2d);
  conv_transpose_family(c, "conv_transpose3d", 3, &conv_transpose3d);
  return c;
}

TEST_CASE("convolutions reject bad input with a clear error", "[errors][conv]") { run_cases(conv_cases()); }

}  // namespace xgrad::testing::errors
