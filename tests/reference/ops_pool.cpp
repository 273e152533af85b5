// Reference cases of pooling.hpp (tests/reference/make_pool.py).

#include <catch2/catch.hpp>

#include <optional>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

namespace {

MaxPoolOptions max_options(const Options& o) {
  return {.kernel = ints(o.at("kernel")), .stride = ints(o.at("stride")), .padding = ints(o.at("padding")),
          .dilation = ints(o.at("dilation")), .ceil_mode = o.at("ceil_mode").get<bool>()};
}

AvgPoolOptions avg_options(const Options& o) {
  const Options& divisor = o.at("divisor_override");
  return {.kernel = ints(o.at("kernel")), .stride = ints(o.at("stride")), .padding = ints(o.at("padding")),
          .ceil_mode = o.at("ceil_mode").get<bool>(), .count_include_pad = o.at("count_include_pad").get<bool>(),
          .divisor_override = divisor.is_null() ? std::nullopt : std::optional(divisor.get<std::int64_t>())};
}

MaxUnpoolOptions unpool_options(const Options& o) {
  return {.kernel = ints(o.at("kernel")), .stride = ints(o.at("stride")), .padding = ints(o.at("padding")),
          .output_size = ints(o.at("output_size"))};
}

LpPoolOptions lp_options(const Options& o) {
  return {.norm_type = o.at("norm_type").get<double>(), .kernel = ints(o.at("kernel")), .stride = ints(o.at("stride")),
          .ceil_mode = o.at("ceil_mode").get<bool>()};
}

Outputs both(const PoolWithIndices& p) { return {p.values, p.indices}; }

}  // namespace

TEST_CASE("reference: pool", "[reference][pool]") {
  run_family("pool", {
      {"max_pool1d", [](const Inputs& in, const Options& o) { return Outputs{max_pool1d(in[0], max_options(o))}; }},
      {"max_pool2d", [](const Inputs& in, const Options& o) { return Outputs{max_pool2d(in[0], max_options(o))}; }},
      {"max_pool3d", [](const Inputs& in, const Options& o) { return Outputs{max_pool3d(in[0], max_options(o))}; }},
      {"max_pool1d_with_indices",
       [](const Inputs& in, const Options& o) { return both(max_pool1d_with_indices(in[0], max_options(o))); }},
      {"max_pool2d_with_indices",
       [](const Inputs& in, const Options& o) { return both(max_pool2d_with_indices(in[0], max_options(o))); }},
      {"max_pool3d_with_indices",
       [](const Inputs& in, const Options& o) { return both(max_pool3d_with_indices(in[0], max_options(o))); }},
      {"avg_pool1d", [](const Inputs& in, const Options& o) { return Outputs{avg_pool1d(in[0], avg_options(o))}; }},
      {"avg_pool2d", [](const Inputs& in, const Options& o) { return Outputs{avg_pool2d(in[0], avg_options(o))}; }},
      {"avg_pool3d", [](const Inputs& in, const Options& o) { return Outputs{avg_pool3d(in[0], avg_options(o))}; }},
      {"adaptive_avg_pool1d",
       [](const Inputs& in, const Options& o) { return Outputs{adaptive_avg_pool1d(in[0], ints(o.at("output_size")))}; }},
      {"adaptive_avg_pool2d",
       [](const Inputs& in, const Options& o) { return Outputs{adaptive_avg_pool2d(in[0], ints(o.at("output_size")))}; }},
      {"adaptive_avg_pool3d",
       [](const Inputs& in, const Options& o) { return Outputs{adaptive_avg_pool3d(in[0], ints(o.at("output_size")))}; }},
      {"adaptive_max_pool1d",
       [](const Inputs& in, const Options& o) { return Outputs{adaptive_max_pool1d(in[0], ints(o.at("output_size")))}; }},
      {"adaptive_max_pool3d",
       [](const Inputs& in, const Options& o) { return Outputs{adaptive_max_pool3d(in[0], ints(o.at("output_size")))}; }},
      {"adaptive_max_pool1d_with_indices",
       [](const Inputs& in, const Options& o) {
         return both(adaptive_max_pool1d_with_indices(in[0], ints(o.at("output_size"))));
       }},
      {"adaptive_max_pool3d_with_indices",
       [](const Inputs& in, const Options& o) {
         return both(adaptive_max_pool3d_with_indices(in[0], ints(o.at("output_size"))));
       }},
      {"adaptive_max_pool2d",
       [](const Inputs& in, const Options& o) { return Outputs{adaptive_max_pool2d(in[0], ints(o.at("output_size")))}; }},
      {"adaptive_max_pool2d_with_indices",
       [](const Inputs& in, const Options& o) {
         return both(adaptive_max_pool2d_with_indices(in[0], ints(o.at("output_size"))));
       }},
      {"max_unpool1d", [](const Inputs& in, const Options& o) { return Outputs{max_unpool1d(in[0], in[1], unpool_options(o))}; }},
      {"max_unpool2d", [](const Inputs& in, const Options& o) { return Outputs{max_unpool2d(in[0], in[1], unpool_options(o))}; }},
      {"max_unpool3d", [](const Inputs& in, const Options& o) { return Outputs{max_unpool3d(in[0], in[1], unpool_options(o))}; }},
      {"lp_pool1d", [](const Inputs& in, const Options& o) { return Outputs{lp_pool1d(in[0], lp_options(o))}; }},
      {"lp_pool2d", [](const Inputs& in, const Options& o) { return Outputs{lp_pool2d(in[0], lp_options(o))}; }},
      {"global_avg_pool", [](const Inputs& in, const Options&) { return Outputs{global_avg_pool(in[0])}; }},
  });
}
