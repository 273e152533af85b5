// Training checkpoints (safetensors with xgrad's metadata) through load_checkpoint.

#include "fuzz_support.hpp"
#include "xgrad/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = xgrad::fuzz::write_input(data, size, "input.ckpt");
  try {
    const xgrad::Checkpoint checkpoint = xgrad::load_checkpoint(path);
    for (const auto& [name, t] : checkpoint.model) xgrad::fuzz::touch(t);
    for (const auto& [name, t] : checkpoint.optimizer) xgrad::fuzz::touch(t);
  } catch (const xgrad::Error&) {
  }
  return 0;
}
