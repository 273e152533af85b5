#pragma once
// Internal: an ONNX graph as xgrad keeps it after reading (no protobuf types), and
// the function that runs one of its nodes with xgrad's ops.

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "xgrad/onnx.hpp"

namespace xgrad::onnx {

using Attribute = std::variant<std::int64_t, double, std::string, std::vector<std::int64_t>, std::vector<double>, Tensor>;

struct Node {
  std::string name, op_type;
  std::vector<std::string> inputs, outputs;  // "" for an absent optional input
  std::map<std::string, Attribute> attributes;
};

struct Model::Graph {
  std::int64_t opset = 0;  ///< of the default domain
  std::vector<Node> nodes;  ///< in the file's (topological) order
  std::vector<std::string> inputs, outputs;
  std::vector<std::pair<std::string, Tensor>> initializers;  ///< by ONNX name, in the file's order
};

/// The op types run_node knows.
const std::vector<std::string>& supported_ops();

/// Runs `node` on `inputs` (undefined for an absent optional input); ValueError
/// names the node and its op type for an attribute value xgrad does not support.
std::vector<Tensor> run_node(const Node& node, const std::vector<Tensor>& inputs, std::int64_t opset);

}  // namespace xgrad::onnx
