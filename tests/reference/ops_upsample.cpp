// Reference cases of upsample.hpp (tests/reference/make_upsample.py).

#include <catch2/catch.hpp>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

TEST_CASE("reference: upsample", "[reference][upsample]") {
  run_family("upsample", {
      {"interpolate", [](const Inputs& in, const Options& o) {
         const auto& recompute = o.at("recompute_scale_factor");  // null, true or false
         InterpolateOptions options{.size = o.at("size").get<std::vector<std::int64_t>>(),
                                    .scale_factor = o.at("scale_factor").get<std::vector<double>>(),
                                    .mode = o.at("mode").get<std::string>(),
                                    .align_corners = o.at("align_corners").get<bool>()};
         if (!recompute.is_null()) options.recompute_scale_factor = recompute.get<bool>();
         return Outputs{interpolate(in[0], options)};
       }},
      {"upsample_bilinear2d", [](const Inputs& in, const Options& o) {
         return Outputs{upsample_bilinear2d(in[0], ints(o.at("size")), o.at("align_corners").get<bool>())};
       }},
      {"upsample_nearest2d",
       [](const Inputs& in, const Options& o) { return Outputs{upsample_nearest2d(in[0], ints(o.at("size")))}; }},
  });
}
