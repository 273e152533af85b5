#pragma once
// Decoding of untrusted image files: PNG through libpng, JPEG through libjpeg-turbo
// (Debian's maintained decoders; docs/reliability.md says why not stb_image).
// Sizes are checked against limits and against what the file's own size can hold
// before any pixel buffer is allocated.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace xgrad::detail {

/// An 8-bit image, interleaved rows (HWC) of `channels` bytes per pixel.
struct DecodedImage {
  int width = 0;
  int height = 0;
  int channels = 0;  // 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA
  std::vector<std::uint8_t> pixels;
};

/// Limits of read_image: at most this many pixels (width x height), and at most
/// this many scans in a progressive JPEG (each scan walks the whole image).
inline constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 27;  // e.g. 11585 x 11585
inline constexpr int kMaxJpegScans = 256;

/// True when `bytes` start with the PNG signature / the JPEG start-of-image marker.
bool is_png(std::span<const std::uint8_t> bytes);
bool is_jpeg(std::span<const std::uint8_t> bytes);

/// The image in `bytes` with the channels it stores (palette and low bit depths
/// expanded, 16 bits reduced to 8). Throws IOError naming `path` on any damage.
DecodedImage decode_png(std::span<const std::uint8_t> bytes, const std::string& path);
DecodedImage decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& path);

/// `image` converted to `channels` (1, 2, 3 or 4) as stb_image converts: gray is the
/// luma (77 R + 150 G + 29 B) / 256, added alpha is opaque.
DecodedImage convert_channels(DecodedImage image, int channels);

}  // namespace xgrad::detail
