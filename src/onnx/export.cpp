// ONNX export: one traced forward (ops/trace.hpp) mapped onto ONNX operators.
//
// Each record of the trace becomes one node (a few for GELU), its tensors named by
// where they come from: "input", a state_dict name for a parameter or buffer,
// "<op>_<k>" for an op's output, "constant_<k>" for a scalar operand. A tensor of
// none of these (made by an op the tracer cannot see) is refused rather than
// frozen into the file as a constant.

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <numbers>
#include <set>
#include <unordered_map>

#include "ops/trace.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "util/files.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/onnx.hpp"

namespace xgrad::onnx {

namespace {

using detail::fail;
using detail::trace::Record;
using Ints = std::vector<std::int64_t>;
namespace proto = ::onnx;

constexpr const char* kInput = "input";
constexpr const char* kOutput = "output";

proto::TensorProto_DataType onnx_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return proto::TensorProto::FLOAT;
    case DType::f64: return proto::TensorProto::DOUBLE;
    case DType::i64: return proto::TensorProto::INT64;
  }
  return proto::TensorProto::UNDEFINED;
}

Ints concat(Ints a, const Ints& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class GraphBuilder {
 public:
  // `state`: the module's parameters and buffers as its forward sees them (not
  // state_dict(), whose tensors are detached handles).
  GraphBuilder(proto::GraphProto& graph, const nn::StateDict& state, const ExportOptions& options)
      : graph_(graph), options_(options) {
    for (const auto& [name, t] : state) {
      state_.emplace(t.impl().get(), std::pair{name, t});
      taken_.insert(name);
    }
  }

  void set_input(const Tensor& input) {
    names_[input.impl().get()] = kInput;
    value_info(graph_.add_input(), kInput, input);
  }
  void set_constants(const std::vector<Tensor>& constants) {
    for (const Tensor& c : constants) constants_.emplace(c.impl().get(), c);
  }

  void add(const Record& r) {
    const std::string out = emit(r);
    names_[r.output.impl().get()] = out;
  }

  void set_output(const Tensor& output) {
    last_ = name_of(output, "the output");
    node("Identity", {last_}, kOutput);  // the graph's output under a fixed name
    value_info(graph_.add_output(), kOutput, output);
  }
  /// The value the output node copies (its shape is what inference found for the graph).
  const std::string& last() const { return last_; }

 private:
  // ---- names -------------------------------------------------------------------------------
  std::string name_of(const Tensor& t, const std::string& use) {
    const auto* impl = t.impl().get();
    if (const auto it = names_.find(impl); it != names_.end()) return it->second;
    if (const auto it = state_.find(impl); it != state_.end()) {
      initializer(it->second.first, it->second.second);
      return names_[impl] = it->second.first;
    }
    if (const auto it = constants_.find(impl); it != constants_.end()) return names_[impl] = tensor_constant(it->second);
    fail<ValueError>(
        "onnx::save: {} is a tensor {} {} that is neither the input, a parameter or buffer of the module, nor the "
        "output of an op the exporter traced (an op it cannot see made it; register a constant as a buffer)",
        use, detail::str(t.shape()), dtype_name(t.dtype()));
  }
  // A name no parameter, buffer or earlier value has (an imported model's buffers
  // may be called constant_<k> already).
  std::string fresh(const std::string& op) {
    std::string name;
    do name = op + "_" + std::to_string(counter_++);
    while (!taken_.insert(name).second);
    return name;
  }

  void initializer(const std::string& name, const Tensor& value) {
    proto::TensorProto* t = graph_.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx_type(value.dtype()));
    for (std::int64_t d : value.shape()) t->add_dims(d);
    const Tensor c = value.contiguous();
    t->set_raw_data(c.impl()->element_ptr(), static_cast<std::size_t>(c.numel()) * element_size(c.dtype()));
  }
  std::string ints_constant(const Ints& values) {
    return tensor_constant(from_vector(values, {static_cast<std::int64_t>(values.size())}));
  }
  std::string floats_constant(const std::vector<float>& values) {  // Resize's scales are float whatever the data
    return tensor_constant(from_vector(values, {static_cast<std::int64_t>(values.size())}));
  }
  std::string tensor_constant(const Tensor& value) {
    const std::string name = fresh("constant");
    initializer(name, value);
    return name;
  }
  std::string scalar_constant(double value, DType dtype) { return tensor_constant(full({}, value, {.dtype = dtype})); }

  void value_info(proto::ValueInfoProto* info, const std::string& name, const Tensor& t) {
    info->set_name(name);
    proto::TypeProto_Tensor* type = info->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx_type(t.dtype()));
    type->mutable_shape();  // a 0-dim tensor has a shape of no dims
    for (std::size_t d = 0; d < t.shape().size(); ++d) {
      proto::TensorShapeProto_Dimension* dim = type->mutable_shape()->add_dim();
      if (d == 0 && options_.dynamic_batch) {
        dim->set_dim_param("batch");
      } else {
        dim->set_dim_value(t.shape()[d]);
      }
    }
  }

  // ---- nodes -------------------------------------------------------------------------------
  proto::NodeProto& node(const std::string& type, const std::vector<std::string>& inputs, const std::string& output) {
    proto::NodeProto* n = graph_.add_node();
    n->set_op_type(type);
    n->set_name(output);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(output);
    return *n;
  }
  static void attribute(proto::NodeProto& n, const std::string& name, const Ints& values) {
    proto::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(proto::AttributeProto::INTS);
    for (std::int64_t v : values) a->add_ints(v);
  }
  static void attribute(proto::NodeProto& n, const std::string& name, std::int64_t value) {
    proto::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(proto::AttributeProto::INT);
    a->set_i(value);
  }
  static void attribute(proto::NodeProto& n, const std::string& name, double value) {
    proto::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(proto::AttributeProto::FLOAT);
    a->set_f(static_cast<float>(value));
  }
  static void attribute(proto::NodeProto& n, const std::string& name, const std::string& value) {
    proto::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(proto::AttributeProto::STRING);
    a->set_s(value);
  }

  // The node(s) of one record; returns the name of its output.
  std::string emit(const Record& r);
  std::string emit_pool(const Record& r, const char* type);
  void emit_adaptive_avg_pool(const Tensor& x, const Ints& size, const std::string& in, const std::string& out,
                              const char* op);
  std::string emit_reshape(const Record& r, const std::string& x);

  std::vector<std::string> inputs_of(const Record& r) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < r.inputs.size(); ++i)
      if (r.inputs[i].defined()) names.push_back(name_of(r.inputs[i], fmt::format("input {} of {}", i, r.op)));
    return names;
  }
  std::int64_t wrap(const Record& r, std::int64_t dim, std::int64_t rank) const {
    return detail::wrap_dim(("onnx::save: " + r.op).c_str(), dim, rank);
  }

  proto::GraphProto& graph_;
  const ExportOptions& options_;
  std::unordered_map<const detail::TensorImpl*, std::pair<std::string, Tensor>> state_;
  std::unordered_map<const detail::TensorImpl*, Tensor> constants_;
  std::unordered_map<const detail::TensorImpl*, std::string> names_;
  std::set<std::string> taken_;
  std::int64_t counter_ = 0;
  std::string last_;
};

const std::unordered_map<std::string, const char*>& elementwise_ops() {
  static const std::unordered_map<std::string, const char*> ops{
      {"relu", "Relu"}, {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"add", "Add"}, {"sub", "Sub"},
      {"mul", "Mul"},   {"div", "Div"},         {"pow", "Pow"},   {"neg", "Neg"}, {"exp", "Exp"},
      {"log", "Log"},   {"sqrt", "Sqrt"},       {"abs", "Abs"},   {"matmul", "MatMul"}};
  return ops;
}

std::string GraphBuilder::emit(const Record& r) {
  const std::vector<std::string> in = inputs_of(r);
  const Tensor& x = r.inputs.front();
  const std::string out = fresh(r.op);
  if (const auto it = elementwise_ops().find(r.op); it != elementwise_ops().end()) {
    node(it->second, in, out);
  } else if (r.op == "identity" || (r.op == "dropout" && r.get<std::int64_t>("training") == 0)) {
    return in.front();
  } else if (r.op == "conv") {
    proto::NodeProto& n = node("Conv", in, out);
    attribute(n, "kernel_shape", Ints(r.inputs[1].shape().begin() + 2, r.inputs[1].shape().end()));
    attribute(n, "strides", r.get<Ints>("stride"));
    attribute(n, "pads", concat(r.get<Ints>("pad_begin"), r.get<Ints>("pad_end")));
    attribute(n, "dilations", r.get<Ints>("dilation"));
    attribute(n, "group", r.get<std::int64_t>("groups"));
  } else if (r.op == "conv_transpose") {
    proto::NodeProto& n = node("ConvTranspose", in, out);
    attribute(n, "kernel_shape", Ints(r.inputs[1].shape().begin() + 2, r.inputs[1].shape().end()));
    attribute(n, "strides", r.get<Ints>("stride"));
    attribute(n, "pads", concat(r.get<Ints>("padding"), r.get<Ints>("padding")));
    attribute(n, "output_padding", r.get<Ints>("output_padding"));
    attribute(n, "dilations", r.get<Ints>("dilation"));
    attribute(n, "group", r.get<std::int64_t>("groups"));
  } else if (r.op == "max_pool") {
    return emit_pool(r, "MaxPool");
  } else if (r.op == "avg_pool") {
    return emit_pool(r, "AveragePool");
  } else if (r.op == "adaptive_avg_pool") {
    emit_adaptive_avg_pool(x, r.get<Ints>("output_size"), in[0], out, "adaptive_avg_pool");
  } else if (r.op == "global_avg_pool") {  // [N, C, *] -> [N, C]
    const std::string pooled = fresh("global_avg_pool");
    node("GlobalAveragePool", in, pooled);
    attribute(node("Flatten", {pooled}, out), "axis", std::int64_t{1});
  } else if (r.op == "batch_norm") {
    if (r.get<std::int64_t>("training") != 0 || !r.inputs[3].defined() || !r.inputs[4].defined())
      fail<ValueError>("onnx::save: batch_norm with batch statistics (training mode or no running statistics) has "
                       "no ONNX inference form; export in evaluation mode with running statistics");
    const std::int64_t channels = x.size(1);
    const std::string scale = r.inputs[1].defined() ? name_of(r.inputs[1], "batch_norm's weight")
                                                    : tensor_constant(ones({channels}, {.dtype = x.dtype()}));
    const std::string shift = r.inputs[2].defined() ? name_of(r.inputs[2], "batch_norm's bias")
                                                    : tensor_constant(zeros({channels}, {.dtype = x.dtype()}));
    proto::NodeProto& n = node("BatchNormalization",
                               {in[0], scale, shift, name_of(r.inputs[3], "running_mean"),
                                name_of(r.inputs[4], "running_var")},
                               out);
    attribute(n, "epsilon", r.get<double>("eps"));
    attribute(n, "momentum", 1.0 - r.get<double>("momentum"));  // ONNX weighs the running value
  } else if (r.op == "group_norm") {
    // ONNX 18's GroupNormalization is past the opsets exported: x as [N, G, -1], each
    // group normalised by InstanceNormalization (unit scale, zero shift), reshaped back,
    // then the per-channel weight and bias (as torch.onnx exports it).
    const std::int64_t groups = r.get<std::int64_t>("num_groups");
    const std::string grouped = fresh("group_norm"), normalised = fresh("group_norm");
    node("Reshape", {in[0], ints_constant({0, groups, -1})}, grouped);
    proto::NodeProto& n = node("InstanceNormalization",
                               {grouped, tensor_constant(ones({groups}, {.dtype = x.dtype()})),
                                tensor_constant(zeros({groups}, {.dtype = x.dtype()}))},
                               normalised);
    attribute(n, "epsilon", r.get<double>("eps"));
    Ints shape = x.shape();
    if (options_.dynamic_batch) shape[0] = 0;  // copy the batch dim
    const bool weighted = r.inputs[1].defined(), shifted = r.inputs[2].defined();
    const std::string restored = weighted || shifted ? fresh("group_norm") : out;
    node("Reshape", {normalised, ints_constant(shape)}, restored);
    Ints per_channel(static_cast<std::size_t>(x.dim() - 1), 1);
    per_channel[0] = x.size(1);
    std::string last = restored;
    if (weighted) {
      const std::string weight = fresh("group_norm"), scaled = shifted ? fresh("group_norm") : out;
      node("Reshape", {name_of(r.inputs[1], "group_norm's weight"), ints_constant(per_channel)}, weight);
      node("Mul", {last, weight}, scaled);
      last = scaled;
    }
    if (shifted) {
      const std::string bias = fresh("group_norm");
      node("Reshape", {name_of(r.inputs[2], "group_norm's bias"), ints_constant(per_channel)}, bias);
      node("Add", {last, bias}, out);
    }
  } else if (r.op == "instance_norm") {
    const std::int64_t channels = x.size(1);
    const std::string scale = r.inputs[1].defined() ? name_of(r.inputs[1], "instance_norm's weight")
                                                    : tensor_constant(ones({channels}, {.dtype = x.dtype()}));
    const std::string shift = r.inputs[2].defined() ? name_of(r.inputs[2], "instance_norm's bias")
                                                    : tensor_constant(zeros({channels}, {.dtype = x.dtype()}));
    if (r.get<std::int64_t>("use_input_stats") != 0) {
      // ONNX's InstanceNormalization has no running statistics (it always uses the input's).
      attribute(node("InstanceNormalization", {in[0], scale, shift}, out), "epsilon", r.get<double>("eps"));
    } else {  // normalised with the running statistics: batch norm in evaluation
      proto::NodeProto& n = node("BatchNormalization",
                                 {in[0], scale, shift, name_of(r.inputs[3], "running_mean"),
                                  name_of(r.inputs[4], "running_var")},
                                 out);
      attribute(n, "epsilon", r.get<double>("eps"));
      attribute(n, "momentum", 1.0 - r.get<double>("momentum"));
    }
  } else if (r.op == "layer_norm") {
    const auto k = static_cast<std::int64_t>(r.get<Ints>("normalized_shape").size());
    const bool weighted = r.inputs[1].defined(), shifted = r.inputs[2].defined();
    if (options_.opset >= 17) {
      const std::string scale = weighted ? name_of(r.inputs[1], "layer_norm's weight")
                                         : tensor_constant(ones(r.get<Ints>("normalized_shape"), {.dtype = x.dtype()}));
      std::vector<std::string> inputs{in[0], scale};
      if (shifted) inputs.push_back(name_of(r.inputs[2], "layer_norm's bias"));
      proto::NodeProto& n = node("LayerNormalization", inputs, out);
      attribute(n, "axis", -k);
      attribute(n, "epsilon", r.get<double>("eps"));
    } else {  // before opset 17: (x - mean) / sqrt(var + eps) * weight + bias over the last k axes
      Ints axes;
      for (std::int64_t a = -k; a < 0; ++a) axes.push_back(a);
      const std::string mean = fresh("layer_norm"), centred = fresh("layer_norm"), squared = fresh("layer_norm"),
                        var = fresh("layer_norm"), shifted_var = fresh("layer_norm"), deviation = fresh("layer_norm"),
                        normalised = weighted || shifted ? fresh("layer_norm") : out;
      attribute(node("ReduceMean", {in[0]}, mean), "axes", axes);
      node("Sub", {in[0], mean}, centred);
      node("Mul", {centred, centred}, squared);
      attribute(node("ReduceMean", {squared}, var), "axes", axes);
      node("Add", {var, scalar_constant(r.get<double>("eps"), x.dtype())}, shifted_var);
      node("Sqrt", {shifted_var}, deviation);
      node("Div", {centred, deviation}, normalised);
      std::string last = normalised;
      if (weighted) {
        const std::string scaled = shifted ? fresh("layer_norm") : out;
        node("Mul", {last, name_of(r.inputs[1], "layer_norm's weight")}, scaled);
        last = scaled;
      }
      if (shifted) node("Add", {last, name_of(r.inputs[2], "layer_norm's bias")}, out);
    }
  } else if (r.op == "leaky_relu") {
    attribute(node("LeakyRelu", in, out), "alpha", r.get<double>("negative_slope"));
  } else if (r.op == "gelu") {
    if (r.get<std::string>("approximate") != "none")
      fail<ValueError>("onnx::save: gelu with approximate=\"{}\" is not exported (only \"none\")",
                       r.get<std::string>("approximate"));
    // x * (1 + erf(x / sqrt 2)) / 2: opset 17 has no Gelu.
    const std::string scaled = fresh("gelu"), erf = fresh("gelu"), shifted = fresh("gelu"), product = fresh("gelu");
    node("Div", {in[0], scalar_constant(std::numbers::sqrt2, x.dtype())}, scaled);
    node("Erf", {scaled}, erf);
    node("Add", {erf, scalar_constant(1.0, x.dtype())}, shifted);
    node("Mul", {in[0], shifted}, product);
    node("Mul", {product, scalar_constant(0.5, x.dtype())}, out);
  } else if (r.op == "elu" || r.op == "celu") {
    attribute(node(r.op == "elu" ? "Elu" : "Celu", in, out), "alpha", r.get<double>("alpha"));
  } else if (r.op == "selu") {
    node("Selu", in, out);  // ONNX's default alpha and gamma are PyTorch's constants as floats
  } else if (r.op == "silu") {  // x * sigmoid(x)
    const std::string s = fresh("silu");
    node("Sigmoid", in, s);
    node("Mul", {in[0], s}, out);
  } else if (r.op == "hardsigmoid" || (r.op == "hardswish" && options_.opset < 14)) {
    // relu6(x + 3) / 6 = max(0, min(1, x / 6 + 1/2)); hardswish is x times it (HardSwish is opset 14's).
    const std::string h = r.op == "hardsigmoid" ? out : fresh("hardswish");
    proto::NodeProto& n = node("HardSigmoid", in, h);
    attribute(n, "alpha", 1.0 / 6);
    attribute(n, "beta", 0.5);
    if (r.op == "hardswish") node("Mul", {in[0], h}, out);
  } else if (r.op == "hardswish") {
    node("HardSwish", in, out);
  } else if (r.op == "mish") {  // x * tanh(softplus(x)): opset 17 has no Mish
    const std::string sp = fresh("mish"), t = fresh("mish");
    node("Softplus", in, sp);
    node("Tanh", {sp}, t);
    node("Mul", {in[0], t}, out);
  } else if (r.op == "softplus") {
    // ONNX's Softplus has neither beta (written as Mul, Softplus, Div, as PyTorch's
    // exporter does) nor threshold: from 15 on, the linear regime it ignores differs from
    // log1p(exp(z)) by under exp(-15) / 15 = 2e-8 relative, below float32's resolution.
    const double beta = r.get<double>("beta"), threshold = r.get<double>("threshold");
    if (!(threshold >= 15))
      fail<ValueError>("onnx::save: softplus with threshold {} is not exported: ONNX's Softplus has no threshold, and "
                       "below 15 its linear regime differs from log(1 + exp(beta x)) / beta beyond float32 resolution",
                       threshold);
    if (beta == 1) {
      node("Softplus", in, out);
    } else {
      const std::string scaled = fresh("softplus"), sp = fresh("softplus");
      node("Mul", {in[0], scalar_constant(beta, x.dtype())}, scaled);
      node("Softplus", {scaled}, sp);
      node("Div", {sp, scalar_constant(beta, x.dtype())}, out);
    }
  } else if (r.op == "log_sigmoid") {  // -softplus(-x)
    const std::string negated = fresh("log_sigmoid"), sp = fresh("log_sigmoid");
    node("Neg", in, negated);
    node("Softplus", {negated}, sp);
    node("Neg", {sp}, out);
  } else if (r.op == "relu6" || r.op == "hardtanh") {
    node("Clip",
         {in[0], scalar_constant(r.get<double>("min_val"), x.dtype()), scalar_constant(r.get<double>("max_val"), x.dtype())},
         out);
  } else if (r.op == "prelu") {
    // ONNX broadcasts the slope from the right: one per channel of dim 1 becomes [C, 1, ..., 1].
    const Tensor& weight = r.inputs[1];
    std::string slope = in[1];
    if (weight.numel() != 1 && x.dim() > 2) {
      Ints shape(static_cast<std::size_t>(x.dim() - 1), 1);
      shape[0] = weight.numel();
      slope = fresh("prelu");
      node("Reshape", {in[1], ints_constant(shape)}, slope);
    }
    node("PRelu", {in[0], slope}, out);
  } else if (r.op == "clamp") {
    node("Clip", {in[0], scalar_constant(r.get<double>("min"), x.dtype()), scalar_constant(r.get<double>("max"), x.dtype())},
         out);
  } else if (r.op == "linear") {
    if (x.dim() == 2) {
      attribute(node("Gemm", in, out), "transB", std::int64_t{1});
    } else {  // x [*, in] @ weight^T [in, out] (+ bias)
      const std::string transposed = fresh("linear"), product = r.inputs[2].defined() ? fresh("linear") : out;
      attribute(node("Transpose", {in[1]}, transposed), "perm", Ints{1, 0});
      node("MatMul", {in[0], transposed}, product);
      if (r.inputs[2].defined()) node("Add", {product, in[2]}, out);
    }
  } else if (r.op == "cat") {
    attribute(node("Concat", in, out), "axis", wrap(r, r.get<std::int64_t>("dim"), x.dim()));
  } else if (r.op == "softmax" || r.op == "log_softmax") {
    attribute(node(r.op == "softmax" ? "Softmax" : "LogSoftmax", in, out), "axis",
              wrap(r, r.get<std::int64_t>("dim"), x.dim()));
  } else if (r.op == "flatten") {
    const std::int64_t start = x.dim() ? wrap(r, r.get<std::int64_t>("start_dim"), x.dim()) : 0;
    const std::int64_t end = x.dim() ? wrap(r, r.get<std::int64_t>("end_dim"), x.dim()) : 0;
    if (start > 0 && end == x.dim() - 1 && r.output.dim() == start + 1) {
      attribute(node("Flatten", in, out), "axis", start);
    } else {
      return emit_reshape(r, in[0]);
    }
  } else if (r.op == "reshape") {
    return emit_reshape(r, in[0]);
  } else if (r.op == "permute") {
    Ints perm;
    for (std::int64_t d : r.get<Ints>("dims")) perm.push_back(wrap(r, d, x.dim()));
    attribute(node("Transpose", in, out), "perm", perm);
  } else if (r.op == "transpose") {
    Ints perm(static_cast<std::size_t>(x.dim()));
    for (std::size_t d = 0; d < perm.size(); ++d) perm[d] = static_cast<std::int64_t>(d);
    if (x.dim() > 0)
      std::swap(perm[static_cast<std::size_t>(wrap(r, r.get<std::int64_t>("dim0"), x.dim()))],
                perm[static_cast<std::size_t>(wrap(r, r.get<std::int64_t>("dim1"), x.dim()))]);
    attribute(node("Transpose", in, out), "perm", perm);
  } else if (r.op == "slice") {
    const std::int64_t dim = wrap(r, r.get<std::int64_t>("dim"), x.dim());
    node("Slice",
         {in[0], ints_constant({r.get<std::int64_t>("start")}), ints_constant({r.get<std::int64_t>("end")}),
          ints_constant({dim}), ints_constant({r.get<std::int64_t>("step")})},
         out);
  } else if (r.op == "pad") {  // xgrad's pads run from the last dim: (begin, end) pairs
    const Ints& pads = r.get<Ints>("pads");
    const auto rank = static_cast<std::size_t>(x.dim());
    Ints begin(rank, 0), end(rank, 0);
    for (std::size_t i = 0; i + 1 < pads.size() && i / 2 < rank; i += 2) {
      begin[rank - 1 - i / 2] = pads[i];
      end[rank - 1 - i / 2] = pads[i + 1];
    }
    const std::string mode = r.get<std::string>("mode");
    if (mode == "circular")
      fail<ValueError>("onnx::save: pad mode \"circular\" has no ONNX form before opset 19 (Pad's \"wrap\"); "
                       "the exporter writes opsets 13 to 17");
    proto::NodeProto& n =
        node("Pad", {in[0], ints_constant(concat(begin, end)), scalar_constant(r.get<double>("value"), x.dtype())}, out);
    attribute(n, "mode", mode == "replicate" ? std::string("edge") : mode);  // constant, reflect
  } else if (r.op == "local_response_norm") {
    if (r.get<std::int64_t>("size") % 2 == 0)
      fail<ValueError>("onnx::save: local_response_norm of even size {} centres its window unlike ONNX's LRN",
                       r.get<std::int64_t>("size"));
    proto::NodeProto& n = node("LRN", in, out);
    attribute(n, "size", r.get<std::int64_t>("size"));
    attribute(n, "alpha", r.get<double>("alpha"));
    attribute(n, "beta", r.get<double>("beta"));
    attribute(n, "bias", r.get<double>("k"));
  } else if (r.op == "interpolate") {
    const std::string& mode = r.get<std::string>("mode");
    const Ints& out_shape = r.get<Ints>("output_shape");
    if (mode == "area") {  // adaptive average pooling, where ONNX pooling expresses it
      emit_adaptive_avg_pool(x, Ints(out_shape.begin() + 2, out_shape.end()), in[0], out, "interpolate (mode area)");
      return out;
    }
    // scales per dim: the scale factors the coordinates used (xgrad maps output o to
    // o / f), or out / in (with a size or recompute_scale_factor, and for a dim the
    // linear modes copy because its size stays).
    const std::vector<double>& factors = r.get<std::vector<double>>("scale_factor");
    const bool linear = mode == "linear" || mode == "bilinear" || mode == "trilinear";
    std::vector<float> scales{1.0F, 1.0F};
    for (std::size_t d = 2; d < out_shape.size(); ++d) {
      const bool ratio = factors.empty() || (linear && out_shape[d] == x.shape()[d]);
      if (!ratio) {
        scales.push_back(static_cast<float>(factors.size() == 1 ? factors[0] : factors[d - 2]));
        continue;
      }
      // out / in, rounded up to the float whose product with in floors to out (9 / 5
      // in float is below 1.8, and floor(5 * it) would be 8).
      const std::int64_t in_size = x.shape()[d], out_size = out_shape[d];
      float scale = static_cast<float>(out_size) / static_cast<float>(in_size);
      while (std::floor(static_cast<double>(in_size) * static_cast<double>(scale)) < static_cast<double>(out_size) ||
             std::floor(static_cast<float>(in_size) * scale) < static_cast<float>(out_size))
        scale = std::nextafter(scale, INFINITY);
      scales.push_back(scale);
    }
    proto::NodeProto& n = node("Resize", {in[0], "", floats_constant(scales)}, out);
    const bool align = r.get<std::int64_t>("align_corners") != 0;
    if (mode == "nearest" || mode == "nearest-exact") {
      // nearest: floor(o / f); nearest-exact: floor((o + 0.5) / f) = round_prefer_ceil of half_pixel's
      // (o + 0.5) / f - 0.5. Both clamped to in - 1, as ONNX clamps.
      const bool exact = mode == "nearest-exact";
      attribute(n, "mode", std::string("nearest"));
      attribute(n, "coordinate_transformation_mode", std::string(exact ? "half_pixel" : "asymmetric"));
      attribute(n, "nearest_mode", std::string(exact ? "round_prefer_ceil" : "floor"));
    } else {
      attribute(n, "mode", std::string(mode == "bicubic" ? "cubic" : "linear"));
      attribute(n, "coordinate_transformation_mode", std::string(align ? "align_corners" : "half_pixel"));
      if (mode == "bicubic") {
        attribute(n, "cubic_coeff_a", -0.75);
        attribute(n, "exclude_outside", std::int64_t{0});
      }
    }
  } else {
    fail<ValueError>("onnx::save: the forward uses {}, which the ONNX exporter does not support (docs/interop.md "
                     "lists what it does)", r.op);
  }
  return out;
}

// adaptive average pooling of x to `size` (spatial): GlobalAveragePool (output 1),
// Resize nearest (output a multiple of the input: each window one element) or
// AveragePool (input a multiple of the output); other sizes have windows of
// unequal sizes, which no ONNX op expresses.
void GraphBuilder::emit_adaptive_avg_pool(const Tensor& x, const Ints& size, const std::string& in,
                                          const std::string& out, const char* op) {
  const Ints spatial(x.shape().begin() + 2, x.shape().end());
  const auto all = [&](auto rule) {
    for (std::size_t d = 0; d < size.size(); ++d)
      if (!rule(spatial[d], size[d])) return false;
    return true;
  };
  if (all([](std::int64_t, std::int64_t o) { return o == 1; })) {
    node("GlobalAveragePool", {in}, out);
  } else if (all([](std::int64_t i, std::int64_t o) { return o > i && o % i == 0; })) {
    // Each window is one element repeated: nearest upsampling (AlexNet's 6x6 pool of a small image).
    std::vector<float> scales{1.0F, 1.0F};
    for (std::size_t d = 0; d < size.size(); ++d) scales.push_back(static_cast<float>(size[d] / spatial[d]));
    proto::NodeProto& n = node("Resize", {in, "", floats_constant(scales)}, out);
    attribute(n, "mode", std::string("nearest"));
    attribute(n, "coordinate_transformation_mode", std::string("asymmetric"));
    attribute(n, "nearest_mode", std::string("floor"));
  } else {
    Ints window;
    for (std::size_t d = 0; d < size.size(); ++d) {
      if (spatial[d] % size[d] != 0)
        fail<ValueError>("onnx::save: {} from {} to {} has windows of unequal sizes, which no ONNX pooling "
                         "expresses", op, detail::str(spatial), detail::str(size));
      window.push_back(spatial[d] / size[d]);
    }
    proto::NodeProto& n = node("AveragePool", {in}, out);
    attribute(n, "kernel_shape", window);
    attribute(n, "strides", window);
  }
}

// MaxPool / AveragePool: ONNX's output size must be the one xgrad computed (with
// ceil_mode PyTorch also drops a last window that starts in the right padding).
std::string GraphBuilder::emit_pool(const Record& r, const char* type) {
  const Ints& kernel = r.get<Ints>("kernel");
  const Ints& stride = r.get<Ints>("stride");
  const Ints& padding = r.get<Ints>("padding");
  const Ints& dilation = r.get<Ints>("dilation");
  const bool ceil = r.get<std::int64_t>("ceil_mode") != 0;
  const Tensor& x = r.inputs.front();
  for (std::size_t d = 0; d < kernel.size(); ++d) {
    const std::int64_t in = x.shape()[d + 2], span = in + 2 * padding[d] - dilation[d] * (kernel[d] - 1) - 1;
    const std::int64_t onnx = (ceil ? (span + stride[d] - 1) / stride[d] : span / stride[d]) + 1;
    if (onnx != r.output.shape()[d + 2])
      fail<ValueError>("onnx::save: {} with ceil_mode gives {} outputs along spatial dim {} where ONNX's {} gives {}",
                       r.op, r.output.shape()[d + 2], d, type, onnx);
  }
  const std::string out = fresh(r.op);
  proto::NodeProto& n = node(type, inputs_of(r), out);
  attribute(n, "kernel_shape", kernel);
  attribute(n, "strides", stride);
  attribute(n, "pads", concat(padding, padding));
  if (ceil) attribute(n, "ceil_mode", std::int64_t{1});
  if (r.op == "max_pool") {
    attribute(n, "dilations", dilation);
  } else {
    attribute(n, "count_include_pad", r.get<std::int64_t>("count_include_pad"));
  }
  return out;
}

// Reshape to the traced output shape; with a dynamic batch a leading dim equal to
// the input's stays "copy dim 0" (0), so the model takes any batch size.
std::string GraphBuilder::emit_reshape(const Record& r, const std::string& x) {
  Ints shape = r.output.shape();
  if (options_.dynamic_batch && !shape.empty() && r.inputs[0].dim() > 0 && shape[0] == r.inputs[0].size(0)) shape[0] = 0;
  const std::string out = fresh("reshape");
  node("Reshape", {x, ints_constant(shape)}, out);
  return out;
}

}  // namespace

void save(nn::Module& module, const Tensor& example_input, const std::string& path, const ExportOptions& options) {
  if (options.opset < 13 || options.opset > 17)
    fail<ValueError>("onnx::save: opset {} is not supported (13 to 17)", options.opset);
  detail::check_defined("onnx::save", example_input);

  const bool training = module.is_training();
  module.eval();
  Tensor output;
  std::vector<Record> records;
  std::vector<Tensor> constants;
  try {
    NoGradGuard no_grad;
    detail::trace::TraceGuard trace;
    output = module.forward(example_input);
    records = std::move(trace.tracer().records);
    constants = std::move(trace.tracer().constants);
  } catch (...) {
    if (training) module.train();
    throw;
  }
  if (training) module.train();

  proto::ModelProto model;
  model.set_ir_version(proto::IR_VERSION);
  model.set_producer_name("xgrad");
  model.mutable_opset_import()->Add()->set_version(options.opset);
  proto::GraphProto& graph = *model.mutable_graph();
  graph.set_name(module.type_name());
  nn::StateDict state = module.named_parameters();
  for (auto& entry : module.named_buffers()) state.push_back(std::move(entry));
  GraphBuilder builder(graph, state, options);
  builder.set_input(example_input);
  builder.set_constants(constants);
  for (const Record& r : records) builder.add(r);
  builder.set_output(output);

  try {
    proto::checker::check_model(model);
    proto::shape_inference::InferShapes(model, proto::OpSchemaRegistry::Instance(),
                                        proto::ShapeInferenceOptions(/*check_type=*/true, /*error_mode=*/1));
  } catch (const std::exception& e) {
    fail("onnx::save: the exported graph fails ONNX's checks (an exporter bug): {}", e.what());
  }
  // Shape inference must find xgrad's output shape for the value the output copies.
  const proto::TensorShapeProto* found = nullptr;
  for (const proto::ValueInfoProto& info : graph.value_info())
    if (info.name() == builder.last()) found = &info.type().tensor_type().shape();
  if (builder.last() == kInput) found = &graph.input(0).type().tensor_type().shape();
  if (!found) fail("onnx::save: ONNX's shape inference found no shape for the output (an exporter bug)");
  const proto::TensorShapeProto& inferred = *found;
  bool same = inferred.dim_size() == output.dim();
  for (int d = 0; same && d < inferred.dim_size(); ++d)
    same = (d == 0 && options.dynamic_batch) ? inferred.dim(d).has_dim_param() || inferred.dim(d).dim_value() == output.size(0)
                                             : inferred.dim(d).dim_value() == output.size(d);
  if (!same)
    fail("onnx::save: ONNX's shape inference gives the output another shape than xgrad's {} (an exporter bug)",
         detail::str(output.shape()));
  detail::write_file_atomically(path, model.SerializeAsString(), "onnx::save");
}

}  // namespace xgrad::onnx
