#pragma once
// Internal: ONNX TensorProto <-> Tensor (for the importer and the conformance runner).

#include <onnx/onnx_pb.h>

#include <string>

#include "xgrad/tensor.hpp"

namespace xgrad::onnx {

/// FLOAT, DOUBLE, INT64 and INT32 (as i64) tensors, from raw_data or the typed
/// fields; IOError starting with `context` for sizes that do not match the dims,
/// other data types and external data.
Tensor read_tensor(const ::onnx::TensorProto& tensor, const std::string& context);

}  // namespace xgrad::onnx
