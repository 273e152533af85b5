// PyTorch checkpoints (zip and legacy pickle containers) through load_torch: the
// restricted unpickler, libzip, and the tensor rebuilding checks.

#include "fuzz_support.hpp"
#include "xgrad/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = xgrad::fuzz::write_input(data, size, "input.pth");
  try {
    for (const auto& [name, t] : xgrad::load_torch(path)) xgrad::fuzz::touch(t);
  } catch (const xgrad::Error&) {
  }
  return 0;
}
