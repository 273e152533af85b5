// safetensors files through load_safetensors and xgrad::load (into a small module).

#include "fuzz_support.hpp"
#include "xgrad/io.hpp"
#include "xgrad/nn/linear.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = xgrad::fuzz::write_input(data, size, "input.safetensors");
  try {
    std::map<std::string, std::string> metadata;
    for (const auto& [name, t] : xgrad::load_safetensors(path, &metadata)) xgrad::fuzz::touch(t);
  } catch (const xgrad::Error&) {
  }
  try {
    xgrad::nn::Linear linear(3, 2);
    xgrad::load(linear, path, /*strict=*/false);
  } catch (const xgrad::Error&) {
  }
  return 0;
}
