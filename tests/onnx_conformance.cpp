// ONNX's backend node tests (Debian's libonnx-testdata: one-node models with input
// and output protobufs) run through onnx::load, for every case whose operator xgrad
// runs. Prints pass / skip (with the reason: an attribute value or data type xgrad
// does not run) / FAIL per case and a table per op type; exits 1 on any FAIL.
//
//   onnx_conformance [/usr/share/libonnx-testdata/data/node] [--verbose]

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "onnx/graph.hpp"
#include "onnx/tensor_proto.hpp"
#include "xgrad/error.hpp"
#include "xgrad/onnx.hpp"

namespace fs = std::filesystem;
using xgrad::Tensor;

namespace {

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Tensor read_pb(const fs::path& path) {
  ::onnx::TensorProto proto;
  if (!proto.ParseFromString(read_all(path))) throw xgrad::IOError("cannot parse " + path.string());
  return xgrad::onnx::read_tensor(proto, path.string());
}

// ONNX's backend tests compare with rtol 1e-3, atol 1e-7.
std::string compare(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape())
    return "shape " + xgrad::shape_to_string(got.shape()) + " where " + xgrad::shape_to_string(want.shape()) +
           " is expected";
  const auto a = got.to(xgrad::f64).contiguous().to_vector<double>();
  const auto b = want.to(xgrad::f64).contiguous().to_vector<double>();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(std::abs(a[i] - b[i]) <= 1e-7 + 1e-3 * std::abs(b[i])) && !(std::isnan(a[i]) && std::isnan(b[i]))) {
      std::ostringstream s;
      s << "element " << i << ": " << a[i] << " where " << b[i] << " is expected";
      return s.str();
    }
  return "";
}

struct Outcome {
  enum Kind { pass, skip, fail } kind;
  std::string why;
};

Outcome run_case(const fs::path& folder) {
  std::shared_ptr<xgrad::onnx::Model> model;
  try {
    model = xgrad::onnx::load((folder / "model.onnx").string());
  } catch (const xgrad::Error& e) {
    return {Outcome::skip, e.what()};
  }
  for (const auto& set : fs::directory_iterator(folder)) {
    if (!set.is_directory()) continue;
    std::vector<Tensor> inputs, expected;
    try {
      for (std::size_t i = 0; fs::exists(set.path() / ("input_" + std::to_string(i) + ".pb")); ++i)
        inputs.push_back(read_pb(set.path() / ("input_" + std::to_string(i) + ".pb")));
      for (std::size_t i = 0; fs::exists(set.path() / ("output_" + std::to_string(i) + ".pb")); ++i)
        expected.push_back(read_pb(set.path() / ("output_" + std::to_string(i) + ".pb")));
    } catch (const xgrad::Error& e) {
      return {Outcome::skip, e.what()};
    }
    std::vector<Tensor> outputs;
    try {
      outputs = model->run(inputs);
    } catch (const xgrad::ValueError& e) {  // an attribute value xgrad does not run
      return {Outcome::skip, e.what()};
    } catch (const xgrad::DTypeError& e) {
      return {Outcome::skip, e.what()};
    } catch (const xgrad::Error& e) {
      return {Outcome::fail, e.what()};
    }
    if (outputs.size() < expected.size()) return {Outcome::fail, "fewer outputs than expected"};
    for (std::size_t i = 0; i < expected.size(); ++i)
      if (std::string why = compare(outputs[i], expected[i]); !why.empty())
        return {Outcome::fail, "output " + std::to_string(i) + ": " + why};
  }
  return {Outcome::pass, ""};
}

// The op type of a one-node test model, or "" when it is not one xgrad runs.
std::string op_type_of(const fs::path& model_path) {
  ::onnx::ModelProto model;
  if (!model.ParseFromString(read_all(model_path)) || model.graph().node_size() != 1) return "";
  const std::string& op = model.graph().node(0).op_type();
  const auto& ops = xgrad::onnx::supported_ops();
  return std::find(ops.begin(), ops.end(), op) != ops.end() && op != "Constant" ? op : "";
}

}  // namespace

int main(int argc, char** argv) {
  fs::path root = "/usr/share/libonnx-testdata/data/node";
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--verbose") verbose = true;
    else root = arg;
  }
  if (!fs::is_directory(root)) {
    std::cerr << "onnx_conformance: no folder " << root << " (Debian's libonnx-testdata)\n";
    return 2;
  }
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(root))
    if (fs::exists(entry.path() / "model.onnx")) cases.push_back(entry.path());
  std::sort(cases.begin(), cases.end());

  std::map<std::string, std::array<int, 3>> per_op;
  int failures = 0;
  for (const fs::path& folder : cases) {
    const std::string op = op_type_of(folder / "model.onnx");
    if (op.empty()) continue;
    const Outcome outcome = run_case(folder);
    ++per_op[op][outcome.kind];
    if (outcome.kind == Outcome::fail) ++failures;
    if (outcome.kind != Outcome::pass || verbose)
      std::cout << (outcome.kind == Outcome::pass ? "pass " : outcome.kind == Outcome::skip ? "skip " : "FAIL ")
                << folder.filename().string() << (outcome.why.empty() ? "" : ": " + outcome.why) << "\n";
  }
  std::cout << "\nop type               pass  skip  fail\n";
  int totals[3] = {0, 0, 0};
  for (const auto& [op, counts] : per_op) {
    std::printf("%-20s %5d %5d %5d\n", op.c_str(), counts[0], counts[1], counts[2]);
    for (int k = 0; k < 3; ++k) totals[k] += counts[k];
  }
  std::printf("%-20s %5d %5d %5d\n", "total", totals[0], totals[1], totals[2]);
  return failures ? 1 : 0;
}
