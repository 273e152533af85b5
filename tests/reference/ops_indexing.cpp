// Reference cases of indexing.hpp (tests/reference/make_indexing.py).

#include <catch2/catch.hpp>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

namespace {

std::int64_t dim_of(const Options& o) { return o.at("dim").get<std::int64_t>(); }

Outputs both(const ValuesIndices& r) { return {r.values, r.indices}; }

}  // namespace

TEST_CASE("reference: indexing", "[reference][indexing]") {
  run_family("indexing", {
      {"gather", [](const Inputs& in, const Options& o) { return Outputs{gather(in[0], dim_of(o), in[1])}; }},
      {"scatter_add",
       [](const Inputs& in, const Options& o) { return Outputs{scatter_add(in[0], dim_of(o), in[1], in[2])}; }},
      {"index_select",
       [](const Inputs& in, const Options& o) { return Outputs{index_select(in[0], dim_of(o), in[1])}; }},
      {"where", [](const Inputs& in, const Options&) { return Outputs{where(in[0], in[1], in[2])}; }},
      {"masked_fill", [](const Inputs& in, const Options& o) {
         return Outputs{masked_fill(in[0], in[1], o.at("value").get<double>())};
       }},
      {"sort", [](const Inputs& in, const Options& o) {
         return both(sort(in[0], {.dim = dim_of(o), .descending = o.at("descending").get<bool>()}));
       }},
      {"topk", [](const Inputs& in, const Options& o) {
         return both(topk(in[0], o.at("k").get<std::int64_t>(), {.dim = dim_of(o), .largest = o.at("largest").get<bool>()}));
       }},
      {"cumsum", [](const Inputs& in, const Options& o) { return Outputs{cumsum(in[0], dim_of(o))}; }},
  });
}
