// IDX files (MNIST's format), raw and gzip-compressed. The first byte picks images
// or labels and whether the file is named .gz (which then must hold a gzip stream;
// without the name, zlib reads either).

#include "fuzz_support.hpp"
#include "xgrad/data/mnist.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool images = data[0] & 1, gz_name = data[0] & 2;
  const std::string path = xgrad::fuzz::write_input(data + 1, size - 1, gz_name ? "input.idx.gz" : "input.idx");
  try {
    xgrad::fuzz::touch(images ? xgrad::data::read_idx_images(path) : xgrad::data::read_idx_labels(path));
  } catch (const xgrad::Error&) {
  }
  return 0;
}
