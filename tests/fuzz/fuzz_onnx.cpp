// ONNX models through onnx::load: protobuf parsing, the initializers' size checks
// and the node table (a loaded model is not run: its graph could ask for any size).

#include "fuzz_support.hpp"
#include "xgrad/onnx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = xgrad::fuzz::write_input(data, size, "input.onnx");
  try {
    const auto model = xgrad::onnx::load(path);
    for (const auto& [name, t] : model->state_dict()) xgrad::fuzz::touch(t);
  } catch (const xgrad::Error&) {
  }
  return 0;
}
