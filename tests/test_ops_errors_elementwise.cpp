// Error inputs of the element-wise ops: math, activations, arithmetic with
// broadcasting, reductions, softmax / log_softmax.
//
// Not listed (PyTorch accepts them, xgrad does not): integer tensors into exp,
// log, sqrt, abs, clamp, relu, sigmoid, tanh, the arithmetic ops, sum, max, min
// (PyTorch promotes or computes in the integer type); mixed f32 / f64 operands of
// the arithmetic ops and pow (PyTorch promotes); clamp with min > max or a NaN
// bound; mean of an empty tensor (NaN in PyTorch).

#include "ops_errors_support.hpp"

namespace xgrad::testing::errors {

namespace {

void math_cases(Cases& c) {
  expect<Error>(c, "exp/undefined", "exp", [] { exp(Tensor()); }, {"undefined"});
  expect<Error>(c, "log/undefined", "log", [] { log(Tensor()); }, {"undefined"});
  expect<Error>(c, "sqrt/undefined", "sqrt", [] { sqrt(Tensor()); }, {"undefined"});
  expect<Error>(c, "abs/undefined", "abs", [] { abs(Tensor()); }, {"undefined"});
  expect<Error>(c, "clamp/undefined", "clamp", [] { clamp(Tensor(), 0.0, 1.0); }, {"undefined"});
  expect<ValueError>(c, "clamp/no_bounds", "clamp", [] { clamp(t32({2, 3}), std::nullopt, std::nullopt); },
                  {"min", "max"});
}

void activation_cases(Cases& c) {
  expect<Error>(c, "relu/undefined", "relu", [] { relu(Tensor()); }, {"undefined"});
  expect<Error>(c, "sigmoid/undefined", "sigmoid", [] { sigmoid(Tensor()); }, {"undefined"});
  expect<Error>(c, "tanh/undefined", "tanh", [] { tanh(Tensor()); }, {"undefined"});
  expect<Error>(c, "leaky_relu/undefined", "leaky_relu", [] { leaky_relu(Tensor()); }, {"undefined"});
  expect<DTypeError>(c, "leaky_relu/i64", "leaky_relu", [] { leaky_relu(ti64({2, 3})); }, {"i64"});
  expect<DTypeError>(c, "leaky_relu/i64_slope", "leaky_relu", [] { leaky_relu(ti64({4}), 0.2); }, {"i64"});
  expect<Error>(c, "gelu/undefined", "gelu", [] { gelu(Tensor()); }, {"undefined"});
  expect<DTypeError>(c, "gelu/i64", "gelu", [] { gelu(ti64({2, 3})); }, {"i64"});
  expect<DTypeError>(c, "gelu/i64_tanh", "gelu", [] { gelu(ti64({2, 3}), "tanh"); }, {"i64"});
  expect<ValueError>(c, "gelu/bad_approximate", "gelu", [] { gelu(t32({2}), "foo"); }, {"\"foo\""});
  expect<ValueError>(c, "gelu/empty_approximate", "gelu", [] { gelu(t32({2}), ""); }, {"\"\""});
}

void arithmetic_cases(Cases& c) {
  using Binary = Tensor (*)(const Tensor&, const Tensor&);
  const std::pair<const char*, Binary> binaries[] = {{"add", &xgrad::add}, {"sub", &xgrad::sub}, {"mul", &xgrad::mul}, {"div", &xgrad::div}};
  for (const auto& entry : binaries) {
    const auto fn = entry.second;
    const char* const name = entry.first;
    const std::string op = name;
    expect<Error>(c, op + "/undefined_first", op, [fn] { fn(Tensor(), t32({2})); }, {"first input", "undefined"});
    expect<Error>(c, op + "/undefined_second", op, [fn] { fn(t32({2}), Tensor()); }, {"second input", "undefined"});
    expect<ShapeError>(c, op + "/not_broadcastable", op, [fn] { fn(t32({2, 3}), t32({4})); }, {"[2, 3]", "[4]"});
    expect<ShapeError>(c, op + "/not_broadcastable_3d", op, [fn] { fn(t32({2, 3, 4}), t32({3, 5})); },
                    {"[2, 3, 4]", "[3, 5]"});
    expect<ShapeError>(c, op + "/not_broadcastable_middle", op, [fn] { fn(t64({2, 1, 3}), t64({2, 3, 4})); },
                    {"[2, 1, 3]", "[2, 3, 4]"});
  }
  expect<ShapeError>(c, "add/operator_plus", "add", [] { (void)(t32({2, 3}) + t32({3, 2})); }, {"[2, 3]", "[3, 2]"});
  expect<ShapeError>(c, "sub/operator_minus", "sub", [] { (void)(t32({5}) - t32({4})); }, {"[5]", "[4]"});
  expect<ShapeError>(c, "mul/operator_times", "mul", [] { (void)(t32({2, 2}) * t32({3})); }, {"[2, 2]", "[3]"});
  expect<ShapeError>(c, "div/operator_divide", "div", [] { (void)(t32({1, 4}) / t32({2, 3})); }, {"[1, 4]", "[2, 3]"});
  expect<Error>(c, "add/scalar_undefined", "add", [] { xgrad::add(Tensor(), 1.0); }, {"undefined"});
  expect<Error>(c, "sub/scalar_undefined", "sub", [] { sub(Tensor(), 1.0); }, {"undefined"});
  expect<Error>(c, "mul/scalar_undefined", "mul", [] { mul(Tensor(), 2.0); }, {"undefined"});
  expect<Error>(c, "div/scalar_undefined", "div", [] { div(Tensor(), 2.0); }, {"undefined"});
  expect<Error>(c, "rsub/undefined", "rsub", [] { rsub(Tensor(), 1.0); }, {"undefined"});
  expect<Error>(c, "rdiv/undefined", "rdiv", [] { rdiv(Tensor(), 1.0); }, {"undefined"});
  expect<Error>(c, "neg/undefined", "neg", [] { neg(Tensor()); }, {"undefined"});
  expect<Error>(c, "pow/scalar_undefined", "pow", [] { pow(Tensor(), 2.0); }, {"undefined"});
  expect<Error>(c, "pow/undefined_base", "pow", [] { pow(Tensor(), t32({2})); }, {"first input", "undefined"});
  expect<Error>(c, "pow/undefined_exponent", "pow", [] { pow(t32({2}), Tensor()); }, {"second input", "undefined"});
  expect<ShapeError>(c, "pow/not_broadcastable", "pow", [] { pow(t32({2, 3}), t32({2})); }, {"[2, 3]", "[2]"});
  expect<ShapeError>(c, "broadcast_shapes/mismatch", "where", [] { broadcast_shapes("where", {2, 3}, {4}); },
                  {"[2, 3]", "[4]", "3 vs 4"});
  expect<ShapeError>(c, "broadcast_shapes/leading", "where", [] { broadcast_shapes("where", {5, 1, 2}, {3, 1, 2}); },
                  {"[5, 1, 2]", "[3, 1, 2]", "5 vs 3"});
  expect<ShapeError>(c, "sum_to/not_a_broadcast", "sum_to", [] { sum_to(t32({2, 3}), {4}); }, {"[4]", "[2, 3]"});
  expect<ShapeError>(c, "sum_to/more_dims", "sum_to", [] { sum_to(t32({2, 3}), {1, 2, 3}); }, {"[1, 2, 3]", "[2, 3]"});
  expect<ShapeError>(c, "sum_to/mismatch", "sum_to", [] { sum_to(t32({2, 3}), {3, 3}); }, {"[3, 3]", "[2, 3]"});
  expect<Error>(c, "sum_to/undefined", "sum_to", [] { sum_to(Tensor(), {1}); }, {"undefined"});
}

void reduction_cases(Cases& c) {
  expect<Error>(c, "sum/undefined", "sum", [] { sum(Tensor()); }, {"undefined"});
  expect<Error>(c, "sum/undefined_dims", "sum", [] { sum(Tensor(), Dims{0}); }, {"undefined"});
  expect<ValueError>(c, "sum/dim_out_of_range", "sum", [] { sum(t32({2, 3}), Dims{2}); }, {"dim 2", "[-2, 1]"});
  expect<ValueError>(c, "sum/dim_negative_out_of_range", "sum", [] { sum(t32({2, 3}), Dims{-3}); }, {"dim -3"});
  expect<ValueError>(c, "sum/dim_repeated", "sum", [] { sum(t32({2, 3}), Dims{0, 0}); }, {"dim 0", "more than once"});
  expect<ValueError>(c, "sum/dim_repeated_negative", "sum", [] { sum(t32({2, 3}), Dims{1, -1}); },
                  {"dim 1", "more than once"});
  expect<Error>(c, "mean/undefined", "mean", [] { mean(Tensor()); }, {"undefined"});
  expect<DTypeError>(c, "mean/i64", "mean", [] { mean(ti64({2, 3})); }, {"i64", "[2, 3]"});
  expect<DTypeError>(c, "mean/i64_dims", "mean", [] { mean(ti64({2, 3}), Dims{1}); }, {"i64"});
  expect<ValueError>(c, "mean/dim_out_of_range", "mean", [] { mean(t32({2, 3, 4}), Dims{3}); }, {"dim 3", "[-3, 2]"});
  expect<ValueError>(c, "mean/dim_repeated", "mean", [] { mean(t32({2, 3}), Dims{1, -1}); }, {"dim 1", "more than once"});
  expect<ValueError>(c, "mean/scalar_dim_1", "mean", [] { mean(full({}, 1.0), Dims{1}); }, {"dim 1"});
  using Extreme = Tensor (*)(const Tensor&, const Dims&, bool);
  const std::pair<const char*, Extreme> extremes[] = {{"amax", &xgrad::amax}, {"amin", &xgrad::amin}};
  for (const auto& entry : extremes) {
    const auto fn = entry.second;
    const char* const name = entry.first;
    const std::string op = name;
    expect<Error>(c, op + "/undefined", op, [fn] { fn(Tensor(), Dims{}, false); }, {"undefined"});
    expect<ValueError>(c, op + "/dim_out_of_range", op, [fn] { fn(t32({2, 3}), Dims{2}, false); }, {"dim 2"});
    expect<ValueError>(c, op + "/dim_repeated", op, [fn] { fn(t32({2, 3}), Dims{0, -2}, false); },
                    {"dim 0", "more than once"});
    expect<ValueError>(c, op + "/empty_all", op, [fn] { fn(t32({0}), Dims{}, false); }, {"zero-size", "[0]", "all"});
    expect<ValueError>(c, op + "/empty_dim", op, [fn] { fn(t32({2, 0}), Dims{1}, true); }, {"zero-size", "[2, 0]"});
  }
  expect<ValueError>(c, "max/empty_all_overload", "max", [] { max(t32({3, 0})); }, {"[3, 0]"});
  expect<ValueError>(c, "min/empty_all_overload", "min", [] { min(t32({0, 2})); }, {"[0, 2]"});
  using Position = Tensor (*)(const Tensor&, std::int64_t, bool);
  const std::pair<const char*, Position> positions[] = {{"argmax", &argmax}, {"argmin", &argmin}};
  for (const auto& entry : positions) {
    const auto fn = entry.second;
    const char* const name = entry.first;
    const std::string op = name;
    expect<Error>(c, op + "/undefined", op, [fn] { fn(Tensor(), 0, false); }, {"undefined"});
    expect<ValueError>(c, op + "/dim_out_of_range", op, [fn] { fn(t32({2, 3}), 2, false); }, {"dim 2", "[-2, 1]"});
    expect<ValueError>(c, op + "/dim_negative", op, [fn] { fn(t32({2, 3}), -3, false); }, {"dim -3"});
    expect<ValueError>(c, op + "/empty_dim", op, [fn] { fn(t32({0, 3}), 0, false); }, {"zero-size", "[0, 3]"});
  }
}

void softmax_cases(Cases& c) {
  using Softmax = Tensor (*)(const Tensor&, std::int64_t);
  const std::pair<const char*, Softmax> fns[] = {{"softmax", &softmax}, {"log_softmax", &log_softmax}};
  for (const auto& entry : fns) {
    const auto fn = entry.second;
    const char* const name = entry.first;
    const std::string op = name;
    expect<Error>(c, op + "/undefined", op, [fn] { fn(Tensor(), 0); }, {"undefined"});
    expect<DTypeError>(c, op + "/i64", op, [fn] { fn(ti64({2, 3}), 1); }, {"i64"});
    expect<ValueError>(c, op + "/dim_out_of_range", op, [fn] { fn(t32({2, 3}), 2); }, {"dim 2", "[-2, 1]"});
    expect<ValueError>(c, op + "/dim_negative", op, [fn] { fn(t32({2, 3}), -3); }, {"dim -3"});
    expect<ValueError>(c, op + "/scalar_dim_1", op, [fn] { fn(full({}, 1.0), 1); }, {"dim 1", "[-1, 0]"});
  }
}

}  // namespace

Cases elementwise_cases() {
  Cases c;
  math_cases(c);
  activation_cases(c);
  arithmetic_cases(c);
  reduction_cases(c);
  softmax_cases(c);
  return c;
}

TEST_CASE("element-wise, reduction and softmax ops reject bad input with a clear error", "[errors][elementwise]") {
  run_cases(elementwise_cases());
}

}  // namespace xgrad::testing::errors
