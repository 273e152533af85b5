// PNG and JPEG files through read_image. The first byte picks the channels asked for.

#include "fuzz_support.hpp"
#include "xgrad/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  constexpr int channels[] = {0, 1, 3, 4};
  const std::string path = xgrad::fuzz::write_input(data + 1, size - 1, "input.image");
  try {
    xgrad::fuzz::touch(xgrad::read_image(path, channels[data[0] % 4]));
  } catch (const xgrad::Error&) {
  }
  return 0;
}
