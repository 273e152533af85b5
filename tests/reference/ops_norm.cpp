// Reference cases of normalization.hpp (tests/reference/make_norm.py), and of
// nn::BatchNorm's momentum None.

#include <catch2/catch.hpp>

#include <memory>
#include <optional>

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

// Inputs: x, then weight and bias where the case has them.
std::pair<Tensor, Tensor> affine(const Inputs& in, const Options& o, std::size_t next) {
  const Tensor weight = o.at("weight").get<bool>() ? in.at(next++) : Tensor();
  const Tensor bias = o.at("bias").get<bool>() ? in.at(next++) : Tensor();
  return {weight, bias};
}

Outputs group_norm_case(const Inputs& in, const Options& o) {
  const auto [weight, bias] = affine(in, o, 1);
  return {group_norm(in[0], o.at("num_groups").get<std::int64_t>(), weight, bias, {.eps = o.at("eps").get<double>()})};
}

Outputs layer_norm_case(const Inputs& in, const Options& o) {
  const auto [weight, bias] = affine(in, o, 1);
  return {layer_norm(in[0], o.at("normalized_shape").get<std::vector<std::int64_t>>(), weight, bias,
                     {.eps = o.at("eps").get<double>()})};
}

// Inputs: x, then running_mean and running_var, weight and bias where the case has them.
Outputs instance_norm_case(const Inputs& in, const Options& o) {
  const bool running = o.at("running").get<bool>();
  const Tensor running_mean = running ? in.at(1) : Tensor();
  const Tensor running_var = running ? in.at(2) : Tensor();
  const auto [weight, bias] = affine(in, o, running ? 3 : 1);
  const Tensor out = instance_norm(in[0], running_mean, running_var, weight, bias,
                                   {.use_input_stats = o.at("use_input_stats").get<bool>(),
                                    .momentum = o.at("momentum").get<double>(), .eps = o.at("eps").get<double>()});
  if (!running) return {out};
  return {out, running_mean.detach().clone(), running_var.detach().clone()};
}

// nn::BatchNorm1d/2d with momentum None run on in[0] and in[1] (no gradient), then on in[2]:
// its output and running statistics.
Outputs batch_norm_momentum_none_case(const Inputs& in, const Options&) {
  const Tensor& x = in[2];
  std::shared_ptr<nn::BatchNormNd> bn;
  if (x.dim() == 4) {
    bn = std::make_shared<nn::BatchNorm2d>(x.size(1), 1e-5, std::nullopt);
  } else {
    bn = std::make_shared<nn::BatchNorm1d>(x.size(1), 1e-5, std::nullopt);
  }
  bn->to(x.dtype());
  {
    NoGradGuard no_grad;
    (*bn)(in[0]);
    (*bn)(in[1]);
  }
  const Tensor out = (*bn)(x);
  return {out, bn->running_mean.detach().clone(), bn->running_var.detach().clone()};
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
      {"group_norm", group_norm_case},
      {"layer_norm", layer_norm_case},
      {"instance_norm", instance_norm_case},
      {"batch_norm_momentum_none", batch_norm_momentum_none_case},
  });
}
