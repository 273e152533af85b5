// Reference cases of softmax.hpp (tests/reference/make_softmax.py).

#include <catch2/catch.hpp>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

TEST_CASE("reference: softmax", "[reference][softmax]") {
  run_family("softmax", {
      {"softmax", [](const Inputs& in, const Options& o) { return Outputs{softmax(in[0], o.at("dim").get<std::int64_t>())}; }},
      {"log_softmax",
       [](const Inputs& in, const Options& o) { return Outputs{log_softmax(in[0], o.at("dim").get<std::int64_t>())}; }},
  });
}
