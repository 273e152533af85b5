// Error inputs of the shape, view and join ops, pad, matmul and linear.
//
// Not listed (PyTorch accepts them, xgrad does not): cat / stack of mixed f32 and
// f64 tensors (PyTorch promotes); cat with a legacy 1-D empty tensor beside
// tensors of another rank; integer matmul / linear; linear with a 1-D weight.

#include "ops_errors_support.hpp"

namespace xgrad::testing::errors {

namespace {

void view_cases(Cases& c) {
  expect<Error>(c, "reshape/undefined", "reshape", [] { reshape(Tensor(), {2}); }, {"undefined"});
  expect<ShapeError>(c, "reshape/two_inferred", "reshape", [] { reshape(t32({2, 3}), {-1, -1}); }, {"[-1, -1]"});
  expect<ShapeError>(c, "reshape/negative_size", "reshape", [] { reshape(t32({2, 3}), {-2, 3}); }, {"-2", "[-2, 3]"});
  expect<ShapeError>(c, "reshape/numel", "reshape", [] { reshape(t32({2, 3}), {4, 2}); }, {"[2, 3]", "6", "[4, 2]"});
  expect<ShapeError>(c, "reshape/infer_impossible", "reshape", [] { reshape(t32({2, 3}), {-1, 4}); },
                     {"[2, 3]", "[-1, 4]"});
  expect<ShapeError>(c, "reshape/infer_zero", "reshape", [] { reshape(t32({2, 3}), {0, -1}); }, {"[0, -1]"});
  expect<Error>(c, "view/undefined", "view", [] { view(Tensor(), {2}); }, {"undefined"});
  expect<ShapeError>(c, "view/needs_copy", "view", [] { view(transpose(t32({2, 3}), 0, 1), {6}); },
                     {"[3, 2]", "[6]", "reshape"});
  expect<ShapeError>(c, "view/numel", "view", [] { view(t32({2, 3}), {7}); }, {"[2, 3]", "[7]"});
  expect<ShapeError>(c, "view/two_inferred", "view", [] { view(t32({2, 3}), {-1, -1}); }, {"[-1, -1]"});
  expect<Error>(c, "flatten/undefined", "flatten", [] { flatten(Tensor()); }, {"undefined"});
  expect<ValueError>(c, "flatten/start_after_end", "flatten", [] { flatten(t32({2, 3, 4}), 2, 1); },
                     {"start_dim 2", "end_dim 1"});
  expect<ValueError>(c, "flatten/start_out_of_range", "flatten", [] { flatten(t32({2, 3, 4}), 3); }, {"dim 3"});
  expect<ValueError>(c, "flatten/end_out_of_range", "flatten", [] { flatten(t32({2, 3, 4}), 0, -4); }, {"dim -4"});
  expect<Error>(c, "transpose/undefined", "transpose", [] { transpose(Tensor(), 0, 1); }, {"undefined"});
  expect<ValueError>(c, "transpose/dim0_out_of_range", "transpose", [] { transpose(t32({2, 3}), 2, 0); },
                     {"dim 2", "[-2, 1]"});
  expect<ValueError>(c, "transpose/dim1_out_of_range", "transpose", [] { transpose(t32({2, 3}), 0, 5); }, {"dim 5"});
  expect<ValueError>(c, "transpose/negative", "transpose", [] { transpose(t32({2, 3}), -3, 0); }, {"dim -3"});
  expect<Error>(c, "permute/undefined", "permute", [] { permute(Tensor(), {0}); }, {"undefined"});
  expect<ValueError>(c, "permute/too_few", "permute", [] { permute(t32({2, 3}), {0}); }, {"1 dims", "[2, 3]"});
  expect<ValueError>(c, "permute/too_many", "permute", [] { permute(t32({2, 3}), {0, 1, 2}); }, {"3 dims", "[2, 3]"});
  expect<ValueError>(c, "permute/repeated", "permute", [] { permute(t32({2, 3}), {0, 0}); }, {"dim 0", "[0, 0]"});
  expect<ValueError>(c, "permute/out_of_range", "permute", [] { permute(t32({2, 3}), {0, 2}); }, {"dim 2"});
  expect<Error>(c, "squeeze/undefined", "squeeze", [] { squeeze(Tensor()); }, {"undefined"});
  expect<Error>(c, "squeeze/undefined_dim", "squeeze", [] { squeeze(Tensor(), 0); }, {"undefined"});
  expect<ValueError>(c, "squeeze/dim_out_of_range", "squeeze", [] { squeeze(t32({2, 1}), 2); }, {"dim 2"});
  expect<ValueError>(c, "squeeze/scalar_dim_1", "squeeze", [] { squeeze(full({}, 1.0), 1); }, {"dim 1"});
  expect<Error>(c, "unsqueeze/undefined", "unsqueeze", [] { unsqueeze(Tensor(), 0); }, {"undefined"});
  expect<ValueError>(c, "unsqueeze/dim_out_of_range", "unsqueeze", [] { unsqueeze(t32({2, 3}), 3); },
                     {"dim 3", "[-3, 2]"});
  expect<ValueError>(c, "unsqueeze/negative", "unsqueeze", [] { unsqueeze(t32({2, 3}), -4); }, {"dim -4"});
  expect<Error>(c, "expand/undefined", "expand", [] { expand(Tensor(), {2}); }, {"undefined"});
  expect<ShapeError>(c, "expand/fewer_dims", "expand", [] { expand(t32({2, 3}), {3}); }, {"[2, 3]", "[3]"});
  expect<ShapeError>(c, "expand/size_mismatch", "expand", [] { expand(t32({2, 3}), {4, 3}); }, {"[2, 3]", "[4, 3]"});
  expect<ShapeError>(c, "expand/inferred_leading", "expand", [] { expand(t32({2, 3}), {-1, 2, 3}); },
                     {"-1", "[-1, 2, 3]"});
  expect<ShapeError>(c, "expand/negative_size", "expand", [] { expand(t32({2, 3}), {2, -2}); }, {"[2, -2]"});
}

void slice_cases(Cases& c) {
  expect<Error>(c, "narrow/undefined", "narrow", [] { narrow(Tensor(), 0, 0, 1); }, {"undefined"});
  expect<ValueError>(c, "narrow/past_end", "narrow", [] { narrow(t32({2, 3}), 1, 2, 2); },
                     {"start 2", "length 2", "size 3"});
  expect<ValueError>(c, "narrow/negative_length", "narrow", [] { narrow(t32({2, 3}), 1, 0, -1); }, {"length -1"});
  expect<ValueError>(c, "narrow/start_before_begin", "narrow", [] { narrow(t32({2, 3}), 1, -4, 1); }, {"start -4"});
  expect<ValueError>(c, "narrow/dim_out_of_range", "narrow", [] { narrow(t32({2, 3}), 2, 0, 1); }, {"dim 2"});
  expect<ShapeError>(c, "narrow/scalar", "narrow", [] { narrow(full({}, 1.0), 0, 0, 1); }, {"0-d"});
  expect<Error>(c, "slice/undefined", "slice", [] { slice(Tensor(), 0, 0, 1); }, {"undefined"});
  expect<ValueError>(c, "slice/step_zero", "slice", [] { slice(t32({2, 3}), 1, 0, 3, 0); }, {"step", "0"});
  expect<ValueError>(c, "slice/step_negative", "slice", [] { slice(t32({3}), 0, 0, 3, -1); }, {"step", "-1"});
  expect<ValueError>(c, "slice/dim_out_of_range", "slice", [] { slice(t32({2, 3}), -3, 0, 1); }, {"dim -3"});
  expect<ShapeError>(c, "slice/scalar", "slice", [] { slice(full({}, 1.0), 0, 0, 1); }, {"0-d"});
  expect<Error>(c, "select/undefined", "select", [] { select(Tensor(), 0, 0); }, {"undefined"});
  expect<ValueError>(c, "select/index_past_end", "select", [] { select(t32({2, 3}), 1, 3); },
                     {"index 3", "size 3", "[2, 3]"});
  expect<ValueError>(c, "select/index_before_begin", "select", [] { select(t32({2, 3}), 1, -4); }, {"index -4"});
  expect<ValueError>(c, "select/dim_out_of_range", "select", [] { select(t32({2, 3}), 2, 0); }, {"dim 2"});
  expect<ShapeError>(c, "select/scalar", "select", [] { select(full({}, 1.0), 0, 0); }, {"0-d"});
  expect<ValueError>(c, "select/empty_dim", "select", [] { select(t32({0, 3}), 0, 0); }, {"index 0", "size 0"});
  expect<Error>(c, "contiguous/undefined", "contiguous", [] { contiguous(Tensor()); }, {"undefined"});
}

void join_cases(Cases& c) {
  expect<ValueError>(c, "cat/empty_list", "cat", [] { cat({}); }, {"non-empty"});
  expect<Error>(c, "cat/undefined", "cat", [] { cat({t32({2}), Tensor()}); }, {"tensor 1", "undefined"});
  expect<ShapeError>(c, "cat/scalars", "cat", [] { cat({full({}, 1.0), full({}, 2.0)}); }, {"[]", "0-d"});
  expect<ShapeError>(c, "cat/size_mismatch", "cat", [] { cat({t32({2, 3}), t32({2, 4})}, 0); },
                     {"tensor 1", "[2, 4]", "[2, 3]", "dim 0"});
  expect<ShapeError>(c, "cat/rank_mismatch", "cat", [] { cat({t32({2, 3}), t32({3})}, 0); }, {"[3]", "[2, 3]"});
  expect<ValueError>(c, "cat/dim_out_of_range", "cat", [] { cat({t32({2, 3}), t32({2, 3})}, 2); }, {"dim 2"});
  expect<ValueError>(c, "stack/empty_list", "stack", [] { stack({}); }, {"non-empty"});
  expect<Error>(c, "stack/undefined", "stack", [] { stack({Tensor(), t32({2})}); }, {"tensor 0", "undefined"});
  expect<ShapeError>(c, "stack/shape_mismatch", "stack", [] { stack({t32({2, 3}), t32({3, 2})}); },
                     {"tensor 1", "[3, 2]", "[2, 3]"});
  expect<ValueError>(c, "stack/dim_out_of_range", "stack", [] { stack({t32({2, 3}), t32({2, 3})}, 3); },
                     {"dim 3", "[-3, 2]"});
  expect<ValueError>(c, "stack/dim_negative", "stack", [] { stack({t32({2}), t32({2})}, -3); }, {"dim -3"});
  expect<Error>(c, "pad/undefined", "pad", [] { pad(Tensor(), {1, 1}); }, {"undefined"});
  expect<ValueError>(c, "pad/odd_count", "pad", [] { pad(t32({2, 3}), {1}); }, {"1 values", "[1]"});
  expect<ValueError>(c, "pad/too_many", "pad", [] { pad(t32({2, 3}), {1, 1, 1, 1, 1, 1}); }, {"6 pad values", "[2, 3]"});
  expect<ValueError>(c, "pad/crops_too_much", "pad", [] { pad(t32({2, 3}), {-2, -2}); }, {"(-2, -2)", "3 elements"});
  expect<ValueError>(c, "pad/crops_first_dim", "pad", [] { pad(t32({2, 3}), {0, 0, -3, 0}); },
                     {"(-3, 0)", "2 elements"});
}

void linalg_cases(Cases& c) {
  expect<Error>(c, "matmul/undefined_first", "matmul", [] { matmul(Tensor(), t32({2})); }, {"first input", "undefined"});
  expect<Error>(c, "matmul/undefined_second", "matmul", [] { matmul(t32({2}), Tensor()); },
                {"second input", "undefined"});
  expect<ShapeError>(c, "matmul/scalar", "matmul", [] { matmul(full({}, 1.0), t32({2, 3})); }, {"[]", "[2, 3]"});
  expect<ShapeError>(c, "matmul/inner_mismatch", "matmul", [] { matmul(t32({2, 3}), t32({2, 3})); },
                     {"[2, 3]", "3 != 2"});
  expect<ShapeError>(c, "matmul/vectors", "matmul", [] { matmul(t32({3}), t32({4})); }, {"[3]", "[4]"});
  expect<ShapeError>(c, "matmul/batch_mismatch", "matmul", [] { matmul(t32({2, 2, 3}), t32({3, 3, 4})); },
                     {"[2, 2, 3]", "[3, 3, 4]"});
  expect<ShapeError>(c, "matmul/batched_inner", "matmul", [] { matmul(t32({4, 2, 3}), t32({4, 2})); },
                     {"[4, 2, 3]", "[4, 2]"});
  expect<DTypeError>(c, "matmul/mixed_dtypes", "matmul", [] { matmul(t32({2, 3}), t64({3, 2})); }, {"f32", "f64"});
  expect<Error>(c, "linear/undefined_input", "linear", [] { linear(Tensor(), t32({2, 3})); }, {"undefined"});
  expect<Error>(c, "linear/undefined_weight", "linear", [] { linear(t32({2, 3}), Tensor()); },
                {"weight", "undefined"});
  expect<ShapeError>(c, "linear/weight_3d", "linear", [] { linear(t32({2, 3}), t32({1, 2, 3})); }, {"[1, 2, 3]"});
  expect<ShapeError>(c, "linear/scalar_input", "linear", [] { linear(full({}, 1.0), t32({2, 3})); }, {"[]"});
  expect<ShapeError>(c, "linear/features", "linear", [] { linear(t32({2, 3}), t32({5, 4})); },
                     {"3 features", "expects 4", "[2, 3]", "[5, 4]"});
  expect<ShapeError>(c, "linear/vector_features", "linear", [] { linear(t32({3}), t32({5, 4})); }, {"[3]", "[5, 4]"});
  expect<ShapeError>(c, "linear/bias_shape", "linear", [] { linear(t32({2, 3}), t32({5, 3}), t32({4})); },
                     {"[4]", "[5, 3]", "[5]"});
  expect<DTypeError>(c, "linear/weight_dtype", "linear", [] { linear(t32({2, 3}), t64({5, 3})); }, {"f32", "f64"});
  expect<DTypeError>(c, "linear/bias_dtype", "linear", [] { linear(t32({2, 3}), t32({5, 3}), t64({5})); },
                     {"f32", "f64"});
}

}  // namespace

Cases shape_cases() {
  Cases c;
  view_cases(c);
  slice_cases(c);
  join_cases(c);
  linalg_cases(c);
  return c;
}

TEST_CASE("shape, join, pad and matrix ops reject bad input with a clear error", "[errors][shape]") {
  run_cases(shape_cases());
}

}  // namespace xgrad::testing::errors
