// PNG (libpng) and JPEG (libjpeg-turbo) decoding from memory, with limits.
//
// Both libraries report errors through a callback that must not return: it
// longjmps back to a setjmp. Every function holding a setjmp below is C-like (no
// object with a destructor lives in its frame), and C++ state (vectors, the
// exception) is made only in its callers, so the jump skips no destructor.

#include "io/image_decode.hpp"

#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
// clang-format off
#include <jpeglib.h>  // needs <cstdio> before it, and jerror.h needs it
#include <jerror.h>
// clang-format on

#include "util/check.hpp"

namespace xgrad::detail {

namespace {

// Deflate expands at most about 1032:1; a baseline or progressive JPEG spends at
// least one bit per 8x8 block on its DC coefficient (512 pixels per byte). A header
// that claims more pixels than the file could hold is refused before decoding.
constexpr std::int64_t kDeflateRatio = 1032;
constexpr std::int64_t kJpegPixelsPerByte = 512;
constexpr std::size_t kMessageBytes = 200;

void check_dimensions(std::int64_t width, std::int64_t height, const std::string& path, const char* format) {
  if (width <= 0 || height <= 0)
    fail<IOError>("read_image: '{}': the {} image is {}x{} pixels", path, format, width, height);
  if (width * height > kMaxImagePixels)
    fail<IOError>("read_image: '{}': the {} image is {}x{} = {} pixels, over the limit of {}", path, format, width,
                  height, width * height, kMaxImagePixels);
}

// ---- PNG --------------------------------------------------------------------------

struct PngSource {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t position;
  char message[kMessageBytes];
};

void png_read_memory(png_structp png, png_bytep out, png_size_t count) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (count > source->size - source->position) png_error(png, "the file ends before the image does (truncated)");
  std::memcpy(out, source->data + source->position, count);
  source->position += count;
}

[[noreturn]] void png_on_error(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(source->message, sizeof source->message, "%s", message);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}  // ancillary damage: libpng drops the chunk

struct PngHeader {
  png_uint_32 width, height;
  int bit_depth, color_type, channels;  // as stored
  std::size_t row_bytes;                // after the transforms
  int out_channels;
};

bool png_read_header(png_structp png, png_infop info, PngHeader* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  header->width = png_get_image_width(png, info);
  header->height = png_get_image_height(png, info);
  header->bit_depth = png_get_bit_depth(png, info);
  header->color_type = png_get_color_type(png, info);
  header->channels = png_get_channels(png, info);
  png_set_expand(png);  // palette -> RGB, gray below 8 bits -> 8, tRNS -> alpha
  png_set_strip_16(png);
  if (png_get_interlace_type(png, info) != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
  png_read_update_info(png, info);
  header->row_bytes = png_get_rowbytes(png, info);
  header->out_channels = png_get_channels(png, info);
  return true;
}

bool png_read_rows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  return true;
}

// ---- JPEG -------------------------------------------------------------------------

struct JpegErrors {
  jpeg_error_mgr base;  // first: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_on_error(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings that mean libjpeg invented data (it fills a truncated stream with
// zeros) stop the decode; others (stray bytes between markers) are tolerated.
void jpeg_on_message(j_common_ptr cinfo, int level) {
  const int code = cinfo->err->msg_code;
  if (level < 0 && (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_MUST_RESYNC)) jpeg_on_error(cinfo);
}

void jpeg_on_progress(j_common_ptr cinfo) {
  const auto* decompress = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (decompress->input_scan_number > kMaxJpegScans) {
    auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
    std::snprintf(errors->message, sizeof errors->message, "the progressive image has more than %d scans",
                  kMaxJpegScans);
    std::longjmp(errors->jump, 1);
  }
}

bool jpeg_read_header_from(jpeg_decompress_struct* cinfo, JpegErrors* errors, const std::uint8_t* data,
                           std::size_t size) {
  if (setjmp(errors->jump)) return false;
  jpeg_create_decompress(cinfo);
  cinfo->mem->max_memory_to_use = std::size_t{1} << 30;
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  return true;
}

bool jpeg_read_rows(jpeg_decompress_struct* cinfo, JpegErrors* errors, std::uint8_t* out, std::size_t row_bytes) {
  if (setjmp(errors->jump)) return false;
  jpeg_start_decompress(cinfo);
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = out + static_cast<std::size_t>(cinfo->output_scanline) * row_bytes;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

}  // namespace

bool is_png(std::span<const std::uint8_t> bytes) { return bytes.size() >= 8 && png_sig_cmp(bytes.data(), 0, 8) == 0; }

bool is_jpeg(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

DecodedImage decode_png(std::span<const std::uint8_t> bytes, const std::string& path) {
  PngSource source{bytes.data(), bytes.size(), 0, {}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, png_on_error, png_on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    fail<IOError>("read_image: '{}': libpng could not start (out of memory)", path);
  }
  struct Release {
    png_structp& png;
    png_infop& info;
    ~Release() { png_destroy_read_struct(&png, &info, nullptr); }
  } release{png, info};
  png_set_read_fn(png, &source, png_read_memory);

  PngHeader header{};
  if (!png_read_header(png, info, &header)) fail<IOError>("read_image: '{}': not a valid PNG: {}", path, source.message);
  const std::int64_t width = header.width, height = header.height;
  check_dimensions(width, height, path, "PNG");
  const std::int64_t stored_row_bits = width * header.channels * header.bit_depth;
  const std::int64_t stored_bytes = height * ((stored_row_bits + 7) / 8);
  if (stored_bytes / kDeflateRatio > static_cast<std::int64_t>(bytes.size()))
    fail<IOError>("read_image: '{}': a {}x{} PNG needs {} bytes of pixel data, more than its {} bytes can inflate to",
                  path, width, height, stored_bytes, bytes.size());

  DecodedImage image{static_cast<int>(width), static_cast<int>(height), header.out_channels, {}};
  image.pixels.resize(static_cast<std::size_t>(height) * header.row_bytes);
  std::vector<png_bytep> rows(static_cast<std::size_t>(height));
  for (std::size_t y = 0; y < rows.size(); ++y) rows[y] = image.pixels.data() + y * header.row_bytes;
  if (!png_read_rows(png, rows.data())) fail<IOError>("read_image: '{}': damaged PNG: {}", path, source.message);
  return image;
}

DecodedImage decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& path) {
  jpeg_decompress_struct cinfo{};
  JpegErrors errors{};
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = jpeg_on_error;
  errors.base.emit_message = jpeg_on_message;
  jpeg_progress_mgr progress{};
  progress.progress_monitor = jpeg_on_progress;
  struct Release {
    jpeg_decompress_struct& cinfo;
    ~Release() { jpeg_destroy_decompress(&cinfo); }  // also after a failed create: it checks what exists
  } release{cinfo};

  if (!jpeg_read_header_from(&cinfo, &errors, bytes.data(), bytes.size()))
    fail<IOError>("read_image: '{}': not a valid JPEG: {}", path, errors.message);
  cinfo.progress = &progress;
  const std::int64_t width = cinfo.image_width, height = cinfo.image_height;
  check_dimensions(width, height, path, "JPEG");
  if (width * height / kJpegPixelsPerByte > static_cast<std::int64_t>(bytes.size()))
    fail<IOError>("read_image: '{}': a {}x{} JPEG cannot be coded in {} bytes", path, width, height, bytes.size());
  if (cinfo.num_components == 1) {
    cinfo.out_color_space = JCS_GRAYSCALE;
  } else if (cinfo.num_components == 3) {
    cinfo.out_color_space = JCS_RGB;
  } else {
    fail<IOError>("read_image: '{}': JPEG with {} colour components (CMYK?) is not supported; convert it to RGB",
                  path, cinfo.num_components);
  }
  const int channels = cinfo.out_color_space == JCS_GRAYSCALE ? 1 : 3;
  DecodedImage image{static_cast<int>(width), static_cast<int>(height), channels, {}};
  const std::size_t row_bytes = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
  image.pixels.resize(static_cast<std::size_t>(height) * row_bytes);
  if (!jpeg_read_rows(&cinfo, &errors, image.pixels.data(), row_bytes))
    fail<IOError>("read_image: '{}': damaged JPEG: {}", path, errors.message);
  return image;
}

DecodedImage convert_channels(DecodedImage image, int channels) {
  const int from = image.channels;
  if (from == channels) return image;
  const bool from_color = from >= 3, from_alpha = from == 2 || from == 4;
  const bool to_color = channels >= 3, to_alpha = channels == 2 || channels == 4;
  const std::size_t pixels = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height);
  std::vector<std::uint8_t> out(pixels * static_cast<std::size_t>(channels));
  for (std::size_t i = 0; i < pixels; ++i) {
    const std::uint8_t* p = image.pixels.data() + i * static_cast<std::size_t>(from);
    std::uint8_t* q = out.data() + i * static_cast<std::size_t>(channels);
    if (to_color && from_color) {
      std::copy(p, p + 3, q);
    } else if (to_color) {
      std::fill(q, q + 3, p[0]);
    } else if (from_color) {
      q[0] = static_cast<std::uint8_t>((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
    } else {
      q[0] = p[0];
    }
    if (to_alpha) q[channels - 1] = from_alpha ? p[from - 1] : 255;
  }
  image.pixels = std::move(out);
  image.channels = channels;
  return image;
}

}  // namespace xgrad::detail
