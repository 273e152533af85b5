// ONNX import: a ModelProto read into xgrad's own description of its nodes (the
// protobuf types stay in this file), run node by node with xgrad's ops, so an
// imported model is differentiable and can be fine-tuned.

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <variant>

#include "onnx/graph.hpp"
#include "onnx/tensor_proto.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "util/files.hpp"
#include "xgrad/onnx.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::onnx {

using detail::fail;
using Ints = std::vector<std::int64_t>;
namespace proto = ::onnx;

// ---- tensors ----------------------------------------------------------------------------------

Tensor read_tensor(const proto::TensorProto& t, const std::string& context) {
  if (t.data_location() == proto::TensorProto::EXTERNAL)
    fail<IOError>("{}: tensor '{}' keeps its data in an external file, which is not supported", context, t.name());
  if (t.dims_size() > 64) fail<IOError>("{}: tensor '{}' has {} dims; at most 64", context, t.name(), t.dims_size());
  Shape shape;
  std::uint64_t numel = 1;
  for (std::int64_t d : t.dims()) {
    if (d < 0 || __builtin_mul_overflow(numel, static_cast<std::uint64_t>(d), &numel) || numel > (1ULL << 40))
      fail<IOError>("{}: tensor '{}' has dims that overflow or are negative", context, t.name());
    shape.push_back(d);
  }
  // Sizes are checked against the data before the tensor is allocated.
  const auto take = [&](DType dtype, std::size_t bytes, auto typed_field, auto convert) {
    if (t.has_raw_data()) {
      if (t.raw_data().size() != numel * bytes)
        fail<IOError>("{}: tensor '{}' of shape {} has {} bytes of data, not {}", context, t.name(),
                      detail::str(shape), t.raw_data().size(), numel * bytes);
      Tensor out = detail::make_tensor(shape, dtype);
      if (bytes == element_size(dtype)) {
        std::memcpy(out.impl()->element_ptr(), t.raw_data().data(), numel * bytes);
      } else {
        convert(out, t.raw_data().data());
      }
      return out;
    }
    const auto& field = typed_field();
    if (static_cast<std::uint64_t>(field.size()) != numel)
      fail<IOError>("{}: tensor '{}' of shape {} has {} values, not {}", context, t.name(), detail::str(shape),
                    field.size(), numel);
    Tensor out = detail::make_tensor(shape, dtype);
    auto* dst = out.impl()->element_ptr();
    for (int i = 0; i < field.size(); ++i) {
      if (dtype == f32) reinterpret_cast<float*>(dst)[i] = static_cast<float>(field[i]);
      if (dtype == f64) reinterpret_cast<double*>(dst)[i] = static_cast<double>(field[i]);
      if (dtype == i64) reinterpret_cast<std::int64_t*>(dst)[i] = static_cast<std::int64_t>(field[i]);
    }
    return out;
  };
  const auto no_convert = [](Tensor&, const char*) {};
  switch (t.data_type()) {
    case proto::TensorProto::FLOAT: return take(f32, 4, [&]() -> const auto& { return t.float_data(); }, no_convert);
    case proto::TensorProto::DOUBLE: return take(f64, 8, [&]() -> const auto& { return t.double_data(); }, no_convert);
    case proto::TensorProto::INT64: return take(i64, 8, [&]() -> const auto& { return t.int64_data(); }, no_convert);
    case proto::TensorProto::INT32:
      return take(i64, 4, [&]() -> const auto& { return t.int32_data(); }, [&](Tensor& out, const char* raw) {
        for (std::uint64_t i = 0; i < numel; ++i) {
          std::int32_t v;
          std::memcpy(&v, raw + 4 * i, 4);
          detail::element_ptr<std::int64_t>(out)[i] = v;
        }
      });
    default:
      fail<IOError>("{}: tensor '{}' has ONNX data type {}; float, double, int64 and int32 are read", context,
                    t.name(), t.data_type());
  }
}

namespace {

constexpr std::uint64_t kMaxFileBytes = std::uint64_t{2} << 30;  // protobuf's limit

// ---- reading the file ---------------------------------------------------------------------------

Attribute read_attribute(const proto::AttributeProto& a, const std::string& context) {
  switch (a.type()) {
    case proto::AttributeProto::INT: return a.i();
    case proto::AttributeProto::FLOAT: return static_cast<double>(a.f());
    case proto::AttributeProto::STRING: return a.s();
    case proto::AttributeProto::INTS: return Ints(a.ints().begin(), a.ints().end());
    case proto::AttributeProto::FLOATS: return std::vector<double>(a.floats().begin(), a.floats().end());
    case proto::AttributeProto::TENSOR: return read_tensor(a.t(), context);
    default: fail<IOError>("{}: attribute {} has a type xgrad does not read ({})", context, a.name(), a.type());
  }
}

// "layer1.0.conv1.weight" becomes that path of submodules; a name that does not
// split cleanly (empty parts, a part already taken) is kept whole with '.' as '_'.
enum class Kind { weight, statistic, constant };  // parameter, persistent buffer, non-persistent buffer

Tensor register_initializer(nn::Module& root, const std::string& name, const Tensor& value, Kind kind) {
  const auto add = [&](nn::Module& m, const std::string& leaf) {
    return kind == Kind::weight ? m.register_parameter(leaf, value)
                                : m.register_buffer(leaf, value, /*persistent=*/kind == Kind::statistic);
  };
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot; (dot = name.find('.', start)) != std::string::npos; start = dot + 1)
    parts.push_back(name.substr(start, dot - start));
  parts.push_back(name.substr(start));
  try {
    if (std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) throw ValueError("");
    nn::Module* m = &root;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      std::shared_ptr<nn::Module> child;
      for (const auto& [n, c] : m->named_children())
        if (n == parts[i]) child = c;
      if (!child) child = m->register_module(parts[i], std::make_shared<nn::Module>("Module"));
      m = child.get();
    }
    return add(*m, parts.back());
  } catch (const ValueError&) {
    std::string flat = name;
    std::replace(flat.begin(), flat.end(), '.', '_');
    return add(root, flat.empty() ? "initializer" : flat);
  }
}

// Exact GELU written out as x * (1 + erf(x / sqrt 2)) * 0.5 (opset 17 has no Gelu;
// xgrad's exporter and PyTorch's write these five nodes) becomes one Gelu node:
// xgrad has no erf op, and one fused op is faster anyway.
void fuse_gelu(Model::Graph& graph) {
  std::unordered_map<std::string, double> scalars;  // 0-dim initializers and Constant outputs
  for (const auto& [name, t] : graph.initializers)
    if (t.dim() == 0 && is_floating(t.dtype())) scalars[name] = t.to(f64).item();
  std::unordered_map<std::string, int> readers;
  for (const Node& n : graph.nodes)
    for (const std::string& in : n.inputs) ++readers[in];
  for (const std::string& out : graph.outputs) ++readers[out];
  const auto is_scalar = [&](const std::string& name, double value) {
    const auto it = scalars.find(name);
    return it != scalars.end() && std::abs(it->second - value) <= 1e-6 * value;
  };
  const auto other = [](const Node& n, const std::string& one) { return n.inputs[0] == one ? n.inputs[1] : n.inputs[0]; };
  auto& nodes = graph.nodes;
  for (std::size_t i = 0; i + 4 < nodes.size(); ++i) {
    const Node &div = nodes[i], &erf = nodes[i + 1], &add = nodes[i + 2], &mul = nodes[i + 3], &half = nodes[i + 4];
    const auto binary = [](const Node& n, const char* type) { return n.op_type == type && n.inputs.size() == 2; };
    if (!binary(div, "Div") || erf.op_type != "Erf" || !binary(add, "Add") || !binary(mul, "Mul") || !binary(half, "Mul"))
      continue;
    const std::string& x = div.inputs[0];
    const bool chain = is_scalar(div.inputs[1], std::sqrt(2.0)) && erf.inputs == std::vector{div.outputs[0]} &&
                       (add.inputs[0] == erf.outputs[0] || add.inputs[1] == erf.outputs[0]) &&
                       is_scalar(other(add, erf.outputs[0]), 1.0) &&
                       (mul.inputs[0] == add.outputs[0] || mul.inputs[1] == add.outputs[0]) &&
                       other(mul, add.outputs[0]) == x &&
                       (half.inputs[0] == mul.outputs[0] || half.inputs[1] == mul.outputs[0]) &&
                       is_scalar(other(half, mul.outputs[0]), 0.5);
    const bool private_values = readers[div.outputs[0]] == 1 && readers[erf.outputs[0]] == 1 &&
                                readers[add.outputs[0]] == 1 && readers[mul.outputs[0]] == 1;
    if (!chain || !private_values) continue;
    Node gelu{half.name, "Gelu", {x}, half.outputs, {{"approximate", std::string("none")}}};
    nodes.erase(nodes.begin() + static_cast<std::ptrdiff_t>(i), nodes.begin() + static_cast<std::ptrdiff_t>(i) + 5);
    nodes.insert(nodes.begin() + static_cast<std::ptrdiff_t>(i), std::move(gelu));
  }
}

}  // namespace

std::shared_ptr<Model> load(const std::string& path) {
  std::error_code error;
  const std::uint64_t bytes = std::filesystem::file_size(path, error);
  if (error) fail<IOError>("onnx::load: '{}': cannot read it: {}", path, error.message());
  if (bytes > kMaxFileBytes) fail<IOError>("onnx::load: '{}': {} bytes, over protobuf's 2 GiB limit", path, bytes);
  const std::vector<std::uint8_t> file = detail::read_file(path, "onnx::load");
  proto::ModelProto model;
  if (!model.ParseFromArray(file.data(), static_cast<int>(file.size())))
    fail<IOError>("onnx::load: '{}': not a valid ONNX model (protobuf parse failed)", path);
  const std::string context = fmt::format("onnx::load: '{}'", path);

  auto graph = std::make_shared<Model::Graph>();
  for (const auto& opset : model.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx") graph->opset = opset.version();
  if (graph->opset < 1 || graph->opset > 17)
    fail<ValueError>("{}: opset {} of the default domain; opsets up to 17 are read", context, graph->opset);

  const proto::GraphProto& g = model.graph();
  std::set<std::string> initializer_names;
  for (const auto& init : g.initializer()) initializer_names.insert(init.name());
  for (const auto& in : g.input())
    if (!initializer_names.count(in.name())) graph->inputs.push_back(in.name());
  for (const auto& out : g.output()) graph->outputs.push_back(out.name());
  for (const auto& n : g.node()) {
    Node node{n.name(), n.op_type(), {n.input().begin(), n.input().end()}, {n.output().begin(), n.output().end()}, {}};
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      fail<ValueError>("{}: node '{}' is {} of domain {}, which xgrad does not run", context, n.name(), n.op_type(),
                       n.domain());
    for (const auto& a : n.attribute()) node.attributes.emplace(a.name(), read_attribute(a, context));
    graph->nodes.push_back(std::move(node));
  }
  for (const auto& init : g.initializer()) graph->initializers.emplace_back(init.name(), read_tensor(init, context));
  fuse_gelu(*graph);
  const auto& ops = supported_ops();
  for (const Node& node : graph->nodes)
    if (std::find(ops.begin(), ops.end(), node.op_type) == ops.end())
      fail<ValueError>("{}: node '{}' is a {}, which xgrad does not run (docs/interop.md lists what it does)",
                       context, node.name, node.op_type);

  auto result = std::make_shared<Model>(graph);
  result->eval();
  return result;
}

namespace {

// Batch norm's running statistics (persistent buffers), and the shapes, pads,
// scales and bounds other operators take as inputs (constants, not weights).
struct Roles {
  std::set<std::string> statistics, settings;
};

Roles initializer_roles(const std::vector<Node>& nodes) {
  Roles roles;
  for (const Node& n : nodes) {
    const bool settings = n.op_type == "Resize" || n.op_type == "Upsample" || n.op_type == "Pad" || n.op_type == "Clip" ||
                          n.op_type == "Reshape" || n.op_type == "Slice" || n.op_type == "Squeeze" || n.op_type == "Unsqueeze";
    for (std::size_t i = 1; i < n.inputs.size(); ++i) {
      if (n.op_type == "BatchNormalization" && i >= 3) roles.statistics.insert(n.inputs[i]);
      if (settings) roles.settings.insert(n.inputs[i]);
    }
  }
  return roles;
}

}  // namespace

Model::Model(std::shared_ptr<const Graph> graph) : Module("OnnxModel"), graph_(std::move(graph)) {
  const Roles roles = initializer_roles(graph_->nodes);
  for (const auto& [name, value] : graph_->initializers) {
    Kind kind = Kind::constant;
    if (roles.statistics.count(name)) {
      kind = Kind::statistic;
    } else if (is_floating(value.dtype()) && value.dim() > 0 && !roles.settings.count(name)) {
      kind = Kind::weight;
    }
    initializers_.emplace(name, register_initializer(*this, name, value, kind));
  }
}

const std::vector<std::string>& Model::input_names() const { return graph_->inputs; }
const std::vector<std::string>& Model::output_names() const { return graph_->outputs; }

std::vector<Tensor> Model::run(const std::vector<Tensor>& inputs) {
  if (inputs.size() != graph_->inputs.size())
    fail<ShapeError>("OnnxModel: the graph takes {} inputs ({}), got {}", graph_->inputs.size(),
                     fmt::join(graph_->inputs, ", "), inputs.size());
  std::unordered_map<std::string, Tensor> values = initializers_;
  for (std::size_t i = 0; i < inputs.size(); ++i) values[graph_->inputs[i]] = inputs[i];
  for (const Node& node : graph_->nodes) {
    std::vector<Tensor> args;
    for (const std::string& name : node.inputs) {
      if (name.empty()) {
        args.emplace_back();  // an absent optional input
        continue;
      }
      const auto it = values.find(name);
      if (it == values.end())
        fail<ValueError>("OnnxModel: node '{}' ({}) reads '{}', which nothing before it made", node.name,
                         node.op_type, name);
      args.push_back(it->second);
    }
    std::vector<Tensor> results = run_node(node, args, graph_->opset);
    for (std::size_t i = 0; i < node.outputs.size() && i < results.size(); ++i)
      if (!node.outputs[i].empty()) values[node.outputs[i]] = results[i];
  }
  std::vector<Tensor> outputs;
  for (const std::string& name : graph_->outputs) {
    const auto it = values.find(name);
    if (it == values.end()) fail<ValueError>("OnnxModel: no node makes the graph output '{}'", name);
    outputs.push_back(it->second);
  }
  return outputs;
}

Tensor Model::forward(const Tensor& input) {
  if (graph_->inputs.size() != 1)
    fail<ShapeError>("OnnxModel: forward takes the graph's one input, but it has {} ({}); use run()",
                     graph_->inputs.size(), fmt::join(graph_->inputs, ", "));
  return run({input}).front();
}

}  // namespace xgrad::onnx
