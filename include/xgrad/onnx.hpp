#pragma once
/// \file onnx.hpp
/// ONNX export of a module (Debian's libonnx-dev and protobuf).
///
///   xgrad::onnx::save(*net, xgrad::randn({1, 3, 224, 224}), "resnet18.onnx", {.opset = 17, .dynamic_batch = true});
///
/// save() runs one forward of `module` in evaluation mode on `example_input` with
/// the ops traced, maps each op onto ONNX operators, stores the parameters and
/// buffers it used as initializers under their state_dict names, and checks the
/// model with ONNX's own checker and shape inference (the inferred output shape
/// must be xgrad's) before writing it atomically. An op it cannot express is a
/// ValueError naming the op (see docs/interop.md for what maps). The module's
/// training mode is restored afterwards.

#include <cstdint>
#include <string>

#include "xgrad/nn/module.hpp"

namespace xgrad::onnx {

struct ExportOptions {
  std::int64_t opset = 17;    ///< 13..17 (ONNX 1.12 knows up to 17)
  bool dynamic_batch = true;  ///< dim 0 of the input and output is a symbol ("batch")
};

void save(nn::Module& module, const Tensor& example_input, const std::string& path, const ExportOptions& options = {});

}  // namespace xgrad::onnx
