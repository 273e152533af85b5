// Reference cases of math.hpp and arithmetic.hpp (tests/reference/make_elementwise.py).

#include <catch2/catch.hpp>

#include <optional>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

namespace {

std::optional<double> bound(const Options& o) { return o.is_null() ? std::nullopt : std::optional(o.get<double>()); }

template <class F>
OpFn unary(F f) {
  return [f](const Inputs& in, const Options&) { return Outputs{f(in[0])}; };
}

template <class F>
OpFn binary(F f) {
  return [f](const Inputs& in, const Options&) { return Outputs{f(in[0], in[1])}; };
}

template <class F>
OpFn with_scalar(F f) {
  return [f](const Inputs& in, const Options& o) { return Outputs{f(in[0], o.at("value").get<double>())}; };
}

}  // namespace

TEST_CASE("reference: elementwise", "[reference][elementwise]") {
  run_family("elementwise", {
      {"exp", unary([](const Tensor& x) { return exp(x); })},
      {"log", unary([](const Tensor& x) { return log(x); })},
      {"sqrt", unary([](const Tensor& x) { return sqrt(x); })},
      {"abs", unary([](const Tensor& x) { return abs(x); })},
      {"neg", unary([](const Tensor& x) { return -x; })},
      {"clamp", [](const Inputs& in, const Options& o) {
         return Outputs{clamp(in[0], bound(o.at("min")), bound(o.at("max")))};
       }},
      {"pow_scalar", [](const Inputs& in, const Options& o) { return Outputs{pow(in[0], o.at("exponent").get<double>())}; }},
      {"add", binary([](const Tensor& a, const Tensor& b) { return a + b; })},
      {"sub", binary([](const Tensor& a, const Tensor& b) { return a - b; })},
      {"mul", binary([](const Tensor& a, const Tensor& b) { return a * b; })},
      {"div", binary([](const Tensor& a, const Tensor& b) { return a / b; })},
      {"pow", binary([](const Tensor& a, const Tensor& b) { return pow(a, b); })},
      {"add_scalar", with_scalar([](const Tensor& x, double s) { return x + s; })},
      {"sub_scalar", with_scalar([](const Tensor& x, double s) { return x - s; })},
      {"mul_scalar", with_scalar([](const Tensor& x, double s) { return x * s; })},
      {"div_scalar", with_scalar([](const Tensor& x, double s) { return x / s; })},
      {"rsub", with_scalar([](const Tensor& x, double s) { return s - x; })},
      {"rdiv", with_scalar([](const Tensor& x, double s) { return s / x; })},
      {"sum_to", [](const Inputs& in, const Options& o) {
         return Outputs{sum_to(in[0], o.at("shape").get<std::vector<std::int64_t>>())};
       }},
  });
}
