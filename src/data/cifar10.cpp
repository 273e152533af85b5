// CIFAR-10's binary batches: records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32).

#include "xgrad/data/cifar10.hpp"

#include <filesystem>
#include <fstream>

#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"

namespace xgrad::data {

using xgrad::detail::fail;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t pixels_per_image = 3 * 32 * 32;
constexpr std::int64_t record_bytes = 1 + pixels_per_image;
constexpr std::uint8_t class_count = 10;

std::vector<fs::path> split_files(const std::string& root, bool train) {
  if (!train) return {fs::path(root) / "test_batch.bin"};
  std::vector<fs::path> files;
  for (int i = 1; i <= 5; ++i) files.push_back(fs::path(root) / fmt::format("data_batch_{}.bin", i));
  return files;
}

// The number of records in `file`, after checking that it exists and holds whole records.
std::int64_t record_count(const fs::path& file) {
  if (!fs::exists(file))
    fail<IOError>(
        "CIFAR10: '{}' does not exist (the binary version's folder holds data_batch_1.bin ... "
        "data_batch_5.bin and test_batch.bin)",
        file.string());
  std::error_code error;
  const auto bytes = static_cast<std::int64_t>(fs::file_size(file, error));
  if (error) fail<IOError>("CIFAR10: cannot read '{}': {}", file.string(), error.message());
  if (bytes == 0 || bytes % record_bytes != 0)
    fail<IOError>(
        "CIFAR10: '{}' has {} bytes, not a positive multiple of the {}-byte record (1 label byte + {} "
        "pixel bytes): truncated, or not a CIFAR-10 binary batch",
        file.string(), bytes, record_bytes, pixels_per_image);
  return bytes / record_bytes;
}

// Reads `count` records of `file` into images (count x 3072 floats) and labels.
void read_records(const fs::path& file, std::int64_t count, float* images, std::int64_t* labels) {
  std::ifstream in(file, std::ios::binary);
  std::vector<char> record(record_bytes);
  for (std::int64_t i = 0; i < count; ++i) {
    if (!in.read(record.data(), record_bytes))
      fail<IOError>("CIFAR10: reading record {} of '{}' failed", i, file.string());
    const auto label = static_cast<std::uint8_t>(record[0]);
    if (label >= class_count)
      fail<IOError>("CIFAR10: label {} of record {} in '{}' is outside 0..9", label, i, file.string());
    labels[i] = label;
    float* image = images + i * pixels_per_image;
    for (std::int64_t k = 0; k < pixels_per_image; ++k)
      image[k] = static_cast<float>(static_cast<std::uint8_t>(record[1 + k])) / 255.0f;
  }
}

TensorDataset read_split(const std::string& root, bool train) {
  const std::vector<fs::path> files = split_files(root, train);
  std::vector<std::int64_t> counts;
  std::int64_t total = 0;
  for (const fs::path& file : files) total += counts.emplace_back(record_count(file));
  Tensor images = xgrad::detail::make_tensor({total, 3, 32, 32}, f32);
  Tensor labels = xgrad::detail::make_tensor({total}, i64);
  std::int64_t first = 0;
  for (std::size_t f = 0; f < files.size(); ++f) {
    read_records(files[f], counts[f], images.mutable_data<float>() + first * pixels_per_image,
                 labels.mutable_data<std::int64_t>() + first);
    first += counts[f];
  }
  return TensorDataset(images, labels);
}

}  // namespace

CIFAR10::CIFAR10(const std::string& root, bool train) : TensorDataset(read_split(root, train)) {}

const std::vector<std::string>& CIFAR10::classes() const {
  static const std::vector<std::string> names{"airplane", "automobile", "bird",  "cat",  "deer",
                                              "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

}  // namespace xgrad::data
