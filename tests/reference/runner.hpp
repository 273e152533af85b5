#pragma once
// The C++ side of the differential op suite (tests/reference/README.md): runs every
// case of a family's fixture (made by PyTorch, tests/reference/make_<family>.py)
// through xgrad and checks, against PyTorch's numbers,
//   - the outputs in float64, and again with every input a strided (non-contiguous) view;
//   - the first-order vector-Jacobian products in float64 (and for the strided inputs);
//   - the second-order products d/d(in, gout) <vjp(gout), v> (create_graph);
//   - the jvps, by xgrad's forward mode (dual tensors);
//   - the outputs and first-order products in float32 (inputs rounded to float32).
// Integer outputs (indices) must match exactly.
//
// A family file registers its ops and runs its fixture in one Catch2 case:
//
//   TEST_CASE("reference: activation", "[reference]") {
//     reference::run_family("activation", {
//         {"elu", [](const Inputs& in, const Options& o) { return Outputs{elu(in[0], o.at("alpha"))}; }},
//     });
//   }
//
// Each case's options are the JSON object the generator gave; an op of the fixture
// that the family does not register, an op registered without cases and a family
// with fewer than 20 cases fail the test.

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "xgrad/xgrad.hpp"

namespace xgrad::reference {

using Inputs = std::vector<Tensor>;
using Outputs = std::vector<Tensor>;
using Options = nlohmann::json;
using OpFn = std::function<Outputs(const Inputs&, const Options&)>;

/// Runs every case of tests/reference/<family>.safetensors with `ops` and checks it
/// (REQUIREs inside); prints the per-op table and appends it as markdown rows to
/// the file named by XGRAD_REFERENCE_TABLE when that is set.
void run_family(const std::string& family, const std::map<std::string, OpFn>& ops);

/// Reads an options value that the generator may have written as a number or a
/// list: {2} or {2, 3}, as xgrad's per-dim options take it.
std::vector<std::int64_t> ints(const Options& value);

}  // namespace xgrad::reference
