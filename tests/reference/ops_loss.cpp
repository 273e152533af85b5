// Reference cases of loss.hpp (tests/reference/make_loss.py).

#include <catch2/catch.hpp>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

namespace {

Reduction reduction(const Options& o) {
  const std::string name = o.at("reduction").get<std::string>();
  if (name == "none") return Reduction::none;
  if (name == "sum") return Reduction::sum;
  if (name == "batchmean") return Reduction::batchmean;
  return Reduction::mean;
}

// The optional tensors after the first two inputs, in order, for the flags that are set.
Tensor optional_input(const Inputs& in, const Options& o, std::initializer_list<const char*> flags, const char* flag) {
  std::size_t index = 2;
  for (const char* f : flags) {
    const bool set = o.at(f).get<bool>();
    if (std::string(f) == flag) return set ? in.at(index) : Tensor();
    if (set) ++index;
  }
  return {};
}

}  // namespace

TEST_CASE("reference: loss", "[reference][loss]") {
  run_family("loss", {
      {"nll_loss",
       [](const Inputs& in, const Options& o) {
         return Outputs{nll_loss(in[0], in[1],
                                 {.weight = optional_input(in, o, {"weight"}, "weight"),
                                  .reduction = reduction(o),
                                  .ignore_index = o.at("ignore_index").get<std::int64_t>()})};
       }},
      {"cross_entropy",
       [](const Inputs& in, const Options& o) {
         return Outputs{cross_entropy(in[0], in[1],
                                      {.weight = optional_input(in, o, {"weight"}, "weight"),
                                       .reduction = reduction(o),
                                       .ignore_index = o.at("ignore_index").get<std::int64_t>(),
                                       .label_smoothing = o.at("label_smoothing").get<double>()})};
       }},
      {"cross_entropy_soft",
       [](const Inputs& in, const Options& o) {
         return Outputs{cross_entropy(in[0], in[1],
                                      {.weight = optional_input(in, o, {"weight"}, "weight"),
                                       .reduction = reduction(o),
                                       .label_smoothing = o.at("label_smoothing").get<double>()})};
       }},
      {"mse_loss",
       [](const Inputs& in, const Options& o) { return Outputs{mse_loss(in[0], in[1], {.reduction = reduction(o)})}; }},
      {"l1_loss",
       [](const Inputs& in, const Options& o) { return Outputs{l1_loss(in[0], in[1], {.reduction = reduction(o)})}; }},
      {"smooth_l1_loss",
       [](const Inputs& in, const Options& o) {
         return Outputs{
             smooth_l1_loss(in[0], in[1], {.reduction = reduction(o), .beta = o.at("beta").get<double>()})};
       }},
      {"huber_loss",
       [](const Inputs& in, const Options& o) {
         return Outputs{huber_loss(in[0], in[1], {.reduction = reduction(o), .delta = o.at("delta").get<double>()})};
       }},
      {"binary_cross_entropy",
       [](const Inputs& in, const Options& o) {
         return Outputs{binary_cross_entropy(
             in[0], in[1], {.weight = optional_input(in, o, {"weight"}, "weight"), .reduction = reduction(o)})};
       }},
      {"binary_cross_entropy_with_logits",
       [](const Inputs& in, const Options& o) {
         return Outputs{binary_cross_entropy_with_logits(
             in[0], in[1],
             {.weight = optional_input(in, o, {"weight", "pos_weight"}, "weight"),
              .reduction = reduction(o),
              .pos_weight = optional_input(in, o, {"weight", "pos_weight"}, "pos_weight")})};
       }},
      {"kl_div",
       [](const Inputs& in, const Options& o) {
         return Outputs{
             kl_div(in[0], in[1], {.reduction = reduction(o), .log_target = o.at("log_target").get<bool>()})};
       }},
  });
}
