// Reference cases of conv.hpp (tests/reference/make_conv.py).

#include <catch2/catch.hpp>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

namespace {

Tensor bias_of(const Inputs& in) { return in.size() > 2 ? in[2] : Tensor(); }

Padding padding_of(const Options& o) {
  if (o.is_string()) return Padding(o.get<std::string>().c_str());
  const Spatial p = ints(o);
  return Padding::asymmetric(p, p);
}

ConvOptions conv_options(const Options& o) {
  return {.stride = ints(o.at("stride")), .padding = padding_of(o.at("padding")), .dilation = ints(o.at("dilation")),
          .groups = o.at("groups").get<std::int64_t>(), .padding_mode = o.at("padding_mode").get<std::string>()};
}

ConvTransposeOptions transpose_options(const Options& o) {
  return {.stride = ints(o.at("stride")), .padding = ints(o.at("padding")),
          .output_padding = ints(o.at("output_padding")), .dilation = ints(o.at("dilation")),
          .groups = o.at("groups").get<std::int64_t>()};
}

}  // namespace

TEST_CASE("reference: conv", "[reference][conv]") {
  run_family("conv", {
      {"conv1d", [](const Inputs& in, const Options& o) { return Outputs{conv1d(in[0], in[1], bias_of(in), conv_options(o))}; }},
      {"conv2d", [](const Inputs& in, const Options& o) { return Outputs{conv2d(in[0], in[1], bias_of(in), conv_options(o))}; }},
      {"conv3d", [](const Inputs& in, const Options& o) { return Outputs{conv3d(in[0], in[1], bias_of(in), conv_options(o))}; }},
      {"conv_transpose1d", [](const Inputs& in, const Options& o) {
         return Outputs{conv_transpose1d(in[0], in[1], bias_of(in), transpose_options(o))};
       }},
      {"conv_transpose2d", [](const Inputs& in, const Options& o) {
         return Outputs{conv_transpose2d(in[0], in[1], bias_of(in), transpose_options(o))};
       }},
      {"conv_transpose3d", [](const Inputs& in, const Options& o) {
         return Outputs{conv_transpose3d(in[0], in[1], bias_of(in), transpose_options(o))};
       }},
  });
}
