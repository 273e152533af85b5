// Reference cases of activation.hpp (tests/reference/make_activation.py).

#include <catch2/catch.hpp>

#include <string>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

namespace {

template <class F>
OpFn unary(F f) {
  return [f](const Inputs& in, const Options&) { return Outputs{f(in[0])}; };
}

double number(const Options& o, const char* key) { return o.at(key).get<double>(); }

}  // namespace

TEST_CASE("reference: activation", "[reference][activation]") {
  run_family("activation", {
      {"relu", unary([](const Tensor& x) { return relu(x); })},
      {"leaky_relu", [](const Inputs& in, const Options& o) {
         return Outputs{leaky_relu(in[0], number(o, "negative_slope"))};
       }},
      {"sigmoid", unary([](const Tensor& x) { return sigmoid(x); })},
      {"tanh", unary([](const Tensor& x) { return tanh(x); })},
      {"gelu", [](const Inputs& in, const Options& o) {
         return Outputs{gelu(in[0], o.at("approximate").get<std::string>())};
       }},
      {"elu", [](const Inputs& in, const Options& o) { return Outputs{elu(in[0], number(o, "alpha"))}; }},
      {"selu", unary([](const Tensor& x) { return selu(x); })},
      {"celu", [](const Inputs& in, const Options& o) { return Outputs{celu(in[0], number(o, "alpha"))}; }},
      {"silu", unary([](const Tensor& x) { return silu(x); })},
      {"hardswish", unary([](const Tensor& x) { return hardswish(x); })},
      {"hardsigmoid", unary([](const Tensor& x) { return hardsigmoid(x); })},
      {"mish", unary([](const Tensor& x) { return mish(x); })},
      {"softplus", [](const Inputs& in, const Options& o) {
         return Outputs{softplus(in[0], number(o, "beta"), number(o, "threshold"))};
       }},
      {"relu6", unary([](const Tensor& x) { return relu6(x); })},
      {"hardtanh", [](const Inputs& in, const Options& o) {
         return Outputs{hardtanh(in[0], number(o, "min_val"), number(o, "max_val"))};
       }},
      {"log_sigmoid", unary([](const Tensor& x) { return log_sigmoid(x); })},
      {"prelu", [](const Inputs& in, const Options&) { return Outputs{prelu(in[0], in[1])}; }},
  });
}
