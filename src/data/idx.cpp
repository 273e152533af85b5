// IDX files (MNIST, Fashion-MNIST) read through zlib, and the two datasets.

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "xgrad/data/mnist.hpp"

namespace xgrad::data {

using xgrad::detail::fail;

namespace {

constexpr std::uint32_t images_magic = 0x00000803;  // 2051: unsigned bytes, 3 dims
constexpr std::uint32_t labels_magic = 0x00000801;  // 2049: unsigned bytes, 1 dim
constexpr std::size_t image_dims = 3, label_dims = 1;
constexpr std::int64_t max_size = std::int64_t{1} << 31;  // a count, rows or cols of 2^31 or more is refused
// Deflate expands at most about 1032:1 (zlib's technical details: 258-byte matches in
// 2-bit codes), so a .gz of n bytes cannot hold more than 1032 n bytes of data.
constexpr std::int64_t max_inflation = 1032;

// A file opened through zlib: gzip streams are decompressed, other files pass
// through unchanged, except that a name ending in ".gz" must hold a gzip stream.
// Errors name `op` and the path.
class ZlibReader {
 public:
  ZlibReader(std::string path, const char* op)
      : path_(std::move(path)), op_(op), file_(gzopen(path_.c_str(), "rb"), gzclose) {
    if (!file_) fail<IOError>("{}: cannot open '{}': {}", op_, path_, std::strerror(errno));
    gzbuffer(file_.get(), 1 << 18);
    if (path_.ends_with(".gz") && gzdirect(file_.get()))
      fail<IOError>(
          "{}: '{}' is not a gzip file (the name ends in .gz but the data does not start with the "
          "gzip bytes 1f 8b)",
          op_, path_);
    std::error_code error;
    file_bytes_ = static_cast<std::int64_t>(std::filesystem::file_size(path_, error));
    if (error) fail<IOError>("{}: cannot read '{}': {}", op_, path_, error.message());
  }

  const std::string& path() const { return path_; }
  const char* op() const { return op_; }

  // Refuses, before anything is read or allocated, a header that announces
  // `body` bytes after its `header` bytes when the file cannot hold them: a plain
  // file must have exactly that many, a gzip stream no more than it can inflate to.
  void check_body_fits(std::int64_t header, std::int64_t body, const std::string& what) const {
    const std::int64_t available = file_bytes_ - header;
    if (gzdirect(file_.get())) {
      if (body > available)
        fail<IOError>("{}: '{}' is truncated: expected {} bytes of {}, got {}", op_, path_, body, what, available);
    } else if (body / max_inflation > file_bytes_) {
      fail<IOError>("{}: '{}' cannot hold what its header announces: {} bytes of {} from a gzip stream of {} bytes",
                    op_, path_, body, what, file_bytes_);
    }
  }

  // Up to `count` bytes: fewer only where the data ends. Throws on corrupt gzip data.
  std::vector<std::uint8_t> read(std::size_t count) {
    constexpr std::size_t chunk = 1 << 20;  // gzread takes an unsigned count
    std::vector<std::uint8_t> bytes;
    while (bytes.size() < count) {
      const std::size_t start = bytes.size();
      const std::size_t wanted = std::min(chunk, count - start);
      bytes.resize(start + wanted);
      const int got = gzread(file_.get(), bytes.data() + start, static_cast<unsigned>(wanted));
      bytes.resize(start + static_cast<std::size_t>(std::max(got, 0)));
      if (got < 0 || static_cast<std::size_t>(got) < wanted) {  // the end, or an error
        check_stream();
        break;
      }
    }
    return bytes;
  }

 private:
  void check_stream() const {
    int code = Z_OK;
    const char* message = gzerror(file_.get(), &code);
    if (code != Z_OK) fail<IOError>("{}: corrupt gzip data in '{}': {}", op_, path_, message);
  }

  std::string path_;
  const char* op_;
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file_;
  std::int64_t file_bytes_ = 0;
};

std::uint32_t big_endian_u32(const std::uint8_t* bytes) {
  return std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 | std::uint32_t{bytes[2]} << 8 | bytes[3];
}

// The bytes of an IDX header of `dims` sizes: the magic number and a u32 per size.
constexpr std::size_t header_size(std::size_t dims) { return 4 * (1 + dims); }

// The sizes in an IDX header ({count} or {count, rows, cols}) after the magic
// number, which must be `magic`. `kind` is "image" or "label".
Shape read_header(ZlibReader& file, std::uint32_t magic, std::size_t dims, const char* kind) {
  const std::size_t header_bytes = header_size(dims);
  const std::vector<std::uint8_t> header = file.read(header_bytes);
  if (header.size() >= 4 && big_endian_u32(header.data()) != magic) {
    const std::uint32_t found = big_endian_u32(header.data());
    fail<IOError>("{}: '{}' has magic number {} (0x{:08x}) but an IDX {} file has {} (0x{:08x})", file.op(),
                  file.path(), found, found, kind, magic, magic);
  }
  if (header.size() < header_bytes)
    fail<IOError>("{}: '{}' is too short for an IDX {} header: expected {} bytes, got {}", file.op(), file.path(), kind,
                  header_bytes, header.size());
  Shape sizes;
  for (std::size_t d = 0; d < dims; ++d) sizes.push_back(big_endian_u32(header.data() + 4 * (1 + d)));
  for (const std::int64_t size : sizes)
    if (size >= max_size)
      fail<IOError>("{}: '{}' has a corrupt header: size {} in {} is 2^31 or more", file.op(), file.path(), size,
                    xgrad::detail::str(sizes));
  return sizes;
}

// The number of data bytes the header's sizes announce (their product; each is
// below 2^31, so three of them fit in 64 bits only when checked).
std::int64_t body_bytes(const ZlibReader& file, const Shape& sizes) {
  std::int64_t bytes = 1;
  for (const std::int64_t size : sizes)
    if (__builtin_mul_overflow(bytes, size, &bytes))
      fail<IOError>("{}: '{}' has a corrupt header: sizes {} overflow", file.op(), file.path(),
                    xgrad::detail::str(sizes));
  return bytes;
}

// Exactly `count` bytes of data after a header of `header` bytes, and then the
// end of the file. `what` describes the data for messages ("pixels (3 images of 28x28)").
std::vector<std::uint8_t> read_body(ZlibReader& file, std::size_t header, std::int64_t count, const std::string& what) {
  file.check_body_fits(static_cast<std::int64_t>(header), count, what);
  std::vector<std::uint8_t> bytes = file.read(static_cast<std::size_t>(count));
  if (bytes.size() < static_cast<std::size_t>(count))
    fail<IOError>("{}: '{}' is truncated: expected {} bytes of {}, got {}", file.op(), file.path(), count, what,
                  bytes.size());
  if (!file.read(1).empty())
    fail<IOError>("{}: '{}' is longer than its header says: more bytes follow the {} bytes of {}", file.op(),
                  file.path(), count, what);
  return bytes;
}

// The file of `name` in root: the plain file when it exists, else name.gz.
std::string find_file(const std::string& root, const std::string& name, const char* dataset, const char* hint) {
  namespace fs = std::filesystem;
  const fs::path plain = fs::path(root) / name;
  if (fs::exists(plain)) return plain.string();
  const fs::path gzipped = fs::path(root) / (name + ".gz");
  if (fs::exists(gzipped)) return gzipped.string();
  fail<IOError>("{}: neither '{}' nor '{}' exists{}", dataset, plain.string(), gzipped.string(), hint);
}

void check_labels(const Tensor& labels, std::size_t classes, const std::string& path, const char* dataset) {
  const std::int64_t* values = labels.data<std::int64_t>();
  for (std::int64_t i = 0; i < labels.numel(); ++i)
    if (values[i] < 0 || values[i] >= static_cast<std::int64_t>(classes))
      fail<IOError>("{}: label {} at index {} of '{}' is outside 0..{}", dataset, values[i], i, path, classes - 1);
}

// One split of an MNIST-format dataset in root: images [N, 1, rows, cols] and labels [N].
TensorDataset read_split(const std::string& root, bool train, const char* dataset, std::size_t classes,
                         const char* hint) {
  const std::string split = train ? "train" : "t10k";
  const std::string images_path = find_file(root, split + "-images-idx3-ubyte", dataset, hint);
  const std::string labels_path = find_file(root, split + "-labels-idx1-ubyte", dataset, hint);
  const Tensor images = read_idx_images(images_path);
  const Tensor labels = read_idx_labels(labels_path);
  if (images.size(0) != labels.size(0))
    fail<IOError>("{}: '{}' holds {} images but '{}' holds {} labels", dataset, images_path, images.size(0),
                  labels_path, labels.size(0));
  check_labels(labels, classes, labels_path, dataset);
  return TensorDataset(images, labels);
}

}  // namespace

Tensor read_idx_images(const std::string& path) {
  ZlibReader file(path, "read_idx_images");
  const Shape sizes = read_header(file, images_magic, image_dims, "image");
  const std::int64_t count = sizes[0], rows = sizes[1], cols = sizes[2];
  const std::vector<std::uint8_t> pixels = read_body(file, header_size(image_dims), body_bytes(file, sizes),
                                                     fmt::format("pixels ({} images of {}x{})", count, rows, cols));
  Tensor images = xgrad::detail::make_tensor({count, 1, rows, cols}, f32);
  float* out = images.mutable_data<float>();
  for (std::size_t i = 0; i < pixels.size(); ++i) out[i] = static_cast<float>(pixels[i]) / 255.0f;
  return images;
}

Tensor read_idx_labels(const std::string& path) {
  ZlibReader file(path, "read_idx_labels");
  const std::int64_t count = read_header(file, labels_magic, label_dims, "label")[0];
  const std::vector<std::uint8_t> bytes =
      read_body(file, header_size(label_dims), count, fmt::format("labels ({} labels)", count));
  Tensor labels = xgrad::detail::make_tensor({count}, i64);
  std::int64_t* out = labels.mutable_data<std::int64_t>();
  for (std::size_t i = 0; i < bytes.size(); ++i) out[i] = bytes[i];
  return labels;
}

MNIST::MNIST(const std::string& root, bool train)
    : MNIST(root, train, "MNIST",
            {"0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven", "8 - eight",
             "9 - nine"},
            "") {}

MNIST::MNIST(const std::string& root, bool train, const char* name, std::vector<std::string> classes, const char* hint)
    : TensorDataset(read_split(root, train, name, classes.size(), hint)), classes_(std::move(classes)) {}

FashionMNIST::FashionMNIST(const std::string& root, bool train)
    : MNIST(root, train, "FashionMNIST",
            {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
            " (Debian's dataset-fashion-mnist package installs them in /usr/share/datasets/fashion-mnist)") {}

}  // namespace xgrad::data
