// Reference cases of upsample.hpp (tests/reference/make_upsample.py).

#include <catch2/catch.hpp>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

TEST_CASE("reference: upsample", "[reference][upsample]") {
  run_family("upsample", {
      {"interpolate", [](const Inputs& in, const Options& o) {
         const auto& recompute = o.at("recompute_scale_factor");
         return Outputs{interpolate(in[0], {.size = o.at("size").get<std::vector<std::int64_t>>(),
                                            .scale_factor = o.at("scale_factor").get<std::vector<double>>(),
                                            .mode = o.at("mode").get<std::string>(),
                                            .align_corners = o.at("align_corners").get<bool>(),
                                            .recompute_scale_factor = recompute.is_null()
                                                                          ? std::nullopt
                                                                          : std::optional<bool>(recompute.get<bool>())})};
       }},
      {"upsample_bilinear2d", [](const Inputs& in, const Options& o) {
         return Outputs{upsample_bilinear2d(in[0], ints(o.at("size")), o.at("align_corners").get<bool>())};
       }},
      {"upsample_nearest2d",
       [](const Inputs& in, const Options& o) { return Outputs{upsample_nearest2d(in[0], ints(o.at("size")))}; }},
  });
}
