#include "xgrad/image.hpp"

#include <stb_image_write.h>  // encoding only: decoding untrusted files is io/image_decode.cpp's

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "io/image_decode.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "util/files.hpp"
#include "xgrad/autograd.hpp"

namespace xgrad {

using detail::fail;

Tensor read_image(const std::string& path, int channels) {
  if (channels < 0 || channels > 4 || channels == 2)
    fail<ValueError>("read_image: channels must be 0 (as stored), 1, 3 or 4, got {}", channels);
  const std::vector<std::uint8_t> bytes = detail::read_file(path, "read_image");
  detail::DecodedImage image;
  if (detail::is_png(bytes)) {
    image = detail::decode_png(bytes, path);
  } else if (detail::is_jpeg(bytes)) {
    image = detail::decode_jpeg(bytes, path);
  } else {
    fail<IOError>("read_image: '{}' is neither a PNG nor a JPEG file (read_image decodes those two)", path);
  }
  if (channels != 0) image = detail::convert_channels(std::move(image), channels);
  const int c = image.channels;
  const std::size_t plane = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height);
  Tensor out = detail::make_tensor({c, image.height, image.width}, f32);
  float* values = out.mutable_data<float>();
  for (std::size_t i = 0; i < plane; ++i)  // interleaved HWC bytes -> planar CHW floats
    for (int k = 0; k < c; ++k)
      values[static_cast<std::size_t>(k) * plane + i] =
          image.pixels[i * static_cast<std::size_t>(c) + static_cast<std::size_t>(k)] / 255.0f;
  return out;
}

void write_png(const Tensor& image, const std::string& path) {
  detail::check_defined("write_png", image, "image");
  detail::check_floating("write_png", image);
  Tensor chw = image.dim() == 2 ? image.unsqueeze(0) : image;
  if (chw.dim() != 3 || (chw.size(0) != 1 && chw.size(0) != 3 && chw.size(0) != 4))
    fail<ShapeError>("write_png: expected [C, H, W] with C = 1, 3 or 4, or [H, W]; got {}",
                     detail::str(image.shape()));
  const int c = static_cast<int>(chw.size(0)), height = static_cast<int>(chw.size(1)),
            width = static_cast<int>(chw.size(2));
  if (height == 0 || width == 0) fail<ShapeError>("write_png: image {} has no pixels", detail::str(image.shape()));
  std::vector<float> values;
  {
    NoGradGuard no_grad;
    values = chw.to_vector<float>();
  }
  const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  std::vector<unsigned char> bytes(values.size());
  for (std::size_t i = 0; i < plane; ++i)  // planar CHW floats -> interleaved HWC bytes
    for (int k = 0; k < c; ++k) {
      const float v = values[static_cast<std::size_t>(k) * plane + i];
      const float clamped = std::isnan(v) ? 0.0f : std::clamp(v, 0.0f, 1.0f);
      bytes[i * static_cast<std::size_t>(c) + static_cast<std::size_t>(k)] =
          static_cast<unsigned char>(std::lround(clamped * 255.0f));
    }
  std::string encoded;
  const auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
  };
  if (!stbi_write_png_to_func(append, &encoded, width, height, c, bytes.data(), width * c))
    fail<IOError>("write_png: could not encode a {}x{} image for '{}'", width, height, path);
  detail::write_file_atomically(path, encoded, "write_png");
}

}  // namespace xgrad
