// Reference cases of linalg.hpp (tests/reference/make_linalg.py).

#include <catch2/catch.hpp>

#include "reference/runner.hpp"

using namespace xgrad;
using namespace xgrad::reference;

TEST_CASE("reference: linalg", "[reference][linalg]") {
  run_family("linalg", {
      {"matmul", [](const Inputs& in, const Options&) { return Outputs{matmul(in[0], in[1])}; }},
      {"linear", [](const Inputs& in, const Options&) {
         return Outputs{linear(in[0], in[1], in.size() > 2 ? in[2] : Tensor())};
       }},
  });
}
