#pragma once
/// \file onnx.hpp
/// ONNX export and import of a module (Debian's libonnx-dev and protobuf).
///
///   xgrad::onnx::save(*net, xgrad::randn({1, 3, 224, 224}), "resnet18.onnx", {.opset = 17, .dynamic_batch = true});
///   std::shared_ptr<xgrad::nn::Module> m = xgrad::onnx::load("resnet18.onnx");  // runs with xgrad's ops
///
/// save() runs one forward of `module` in evaluation mode on `example_input` with
/// the ops traced, maps each op onto ONNX operators, stores the parameters and
/// buffers it used as initializers under their state_dict names, and checks the
/// model with ONNX's own checker and shape inference (the inferred output shape
/// must be xgrad's) before writing it atomically. An op it cannot express is a
/// ValueError naming the op (see docs/interop.md for what maps). The module's
/// training mode is restored afterwards.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "xgrad/nn/module.hpp"

namespace xgrad::onnx {

struct ExportOptions {
  std::int64_t opset = 17;    ///< 13..17 (ONNX 1.12 knows up to 17)
  bool dynamic_batch = true;  ///< dim 0 of the input and output is a symbol ("batch")
};

void save(nn::Module& module, const Tensor& example_input, const std::string& path, const ExportOptions& options = {});

/// An ONNX graph run with xgrad's differentiable ops. Its initializers become, under
/// their ONNX names, parameters (floating weights: trainable), persistent buffers
/// (batch norm's running statistics) or non-persistent buffers (integer and 0-dim
/// constants, and the shapes, pads and scales operators take as inputs). A dotted
/// name such as "layer1.0.conv1.weight" becomes that path of submodules, so
/// state_dict() and xgrad::load/save see the names the exporter wrote.
class Model final : public nn::Module {
 public:
  struct Graph;  // the nodes, read from the file (src/onnx/import.cpp)
  explicit Model(std::shared_ptr<const Graph> graph);
  /// The graph's one input to its first output; ShapeError unless it has exactly one input.
  Tensor forward(const Tensor& input) override;
  /// Every graph input (those that are not initializers), in the file's order, to every output.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  const std::vector<std::string>& input_names() const;
  const std::vector<std::string>& output_names() const;

 private:
  std::shared_ptr<const Graph> graph_;
  std::unordered_map<std::string, Tensor> initializers_;  // by ONNX name: the registered parameters and buffers
};

/// Reads an ONNX model (opsets up to 17 of the operators docs/interop.md lists) and
/// returns it in evaluation mode. IOError for a file that is not a valid ModelProto
/// or whose tensors do not match their declared sizes; ValueError naming the node and
/// its op type for an operator xgrad does not run (when loading) or an attribute
/// value it does not support (when the node runs).
std::shared_ptr<Model> load(const std::string& path);

}  // namespace xgrad::onnx
