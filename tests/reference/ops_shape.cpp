// Reference cases of shape.hpp (tests/reference/make_shape.py).

#include <catch2/catch.hpp>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

namespace {

std::int64_t integer(const Options& o, const char* key) { return o.at(key).get<std::int64_t>(); }

}  // namespace

TEST_CASE("reference: shape", "[reference][shape]") {
  run_family("shape", {
      {"reshape", [](const Inputs& in, const Options& o) { return Outputs{reshape(in[0], ints(o.at("shape")))}; }},
      {"view", [](const Inputs& in, const Options& o) { return Outputs{view(in[0], ints(o.at("shape")))}; }},
      {"flatten", [](const Inputs& in, const Options& o) {
         return Outputs{flatten(in[0], integer(o, "start"), integer(o, "end"))};
       }},
      {"transpose", [](const Inputs& in, const Options& o) {
         const auto d = ints(o.at("dims"));
         return Outputs{transpose(in[0], d[0], d[1])};
       }},
      {"permute", [](const Inputs& in, const Options& o) { return Outputs{permute(in[0], ints(o.at("dims")))}; }},
      {"squeeze", [](const Inputs& in, const Options&) { return Outputs{squeeze(in[0])}; }},
      {"squeeze_dim", [](const Inputs& in, const Options& o) { return Outputs{squeeze(in[0], integer(o, "dim"))}; }},
      {"unsqueeze", [](const Inputs& in, const Options& o) { return Outputs{unsqueeze(in[0], integer(o, "dim"))}; }},
      {"expand", [](const Inputs& in, const Options& o) { return Outputs{expand(in[0], ints(o.at("shape")))}; }},
      {"narrow", [](const Inputs& in, const Options& o) {
         return Outputs{narrow(in[0], integer(o, "dim"), integer(o, "start"), integer(o, "length"))};
       }},
      {"slice", [](const Inputs& in, const Options& o) {
         return Outputs{slice(in[0], integer(o, "dim"), integer(o, "start"), integer(o, "end"), integer(o, "step"))};
       }},
      {"select", [](const Inputs& in, const Options& o) {
         return Outputs{select(in[0], integer(o, "dim"), integer(o, "index"))};
       }},
      {"contiguous", [](const Inputs& in, const Options&) { return Outputs{contiguous(transpose(in[0], 0, 1))}; }},
      {"cat", [](const Inputs& in, const Options& o) { return Outputs{cat(in, integer(o, "dim"))}; }},
      {"stack", [](const Inputs& in, const Options& o) { return Outputs{stack(in, integer(o, "dim"))}; }},
      {"pad_mode", [](const Inputs& in, const Options& o) {
         return Outputs{pad(in[0], ints(o.at("pads")), o.at("mode").get<std::string>())};
       }},
      {"pad", [](const Inputs& in, const Options& o) {
         return Outputs{pad(in[0], ints(o.at("pads")), o.at("value").get<double>())};
       }},
  });
}
