// Reference cases of normalization.hpp (tests/reference/make_norm.py).

#include <catch2/catch.hpp>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

namespace {

// Inputs: x, then running_mean and running_var, weight and bias where the case has them.
Outputs batch_norm_case(const Inputs& in, const Options& o) {
  std::size_t next = 1;
  const auto take = [&](const char* key) { return o.at(key).get<bool>() ? in.at(next++) : Tensor(); };
  const Tensor running_mean = o.at("running").get<bool>() ? in.at(next++) : Tensor();
  const Tensor running_var = o.at("running").get<bool>() ? in.at(next++) : Tensor();
  const Tensor weight = take("weight");
  const Tensor bias = take("bias");
  const Tensor out = batch_norm(in[0], running_mean, running_var, weight, bias,
                                {.training = o.at("training").get<bool>(), .momentum = o.at("momentum").get<double>(),
                                 .eps = o.at("eps").get<double>()});
  if (!running_mean.defined()) return {out};
  return {out, running_mean.detach().clone(), running_var.detach().clone()};  // as updated in training
}

}  // namespace

TEST_CASE("reference: norm", "[reference][norm]") {
  run_family("norm", {
      {"batch_norm", batch_norm_case},
      {"local_response_norm", [](const Inputs& in, const Options& o) {
         return Outputs{local_response_norm(in[0], {.size = o.at("size").get<std::int64_t>(),
                                                    .alpha = o.at("alpha").get<double>(),
                                                    .beta = o.at("beta").get<double>(), .k = o.at("k").get<double>()})};
       }},
      {"dropout", [](const Inputs& in, const Options& o) {
         return Outputs{dropout(in[0], {.p = o.at("p").get<double>(), .training = o.at("training").get<bool>()})};
       }},
  });
}
