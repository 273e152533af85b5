// Data: IDX and CIFAR-10 readers, TensorDataset, DataLoader, transforms.

#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using namespace xgrad::data;
namespace fs = std::filesystem;
using Bytes = std::string;

namespace {

// A folder of this process's own (ctest runs test cases side by side), removed at exit.
const fs::path& scratch_root() { return process_scratch_dir("xgrad_test_data"); }

// A fresh, empty folder for one test.
fs::path scratch(const std::string& name) {
  const fs::path dir = scratch_root() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Bytes big_endian(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX file: magic, sizes, then the data bytes as given.
Bytes idx(std::uint32_t magic, const std::vector<std::uint32_t>& sizes, const std::vector<int>& data) {
  Bytes out = big_endian(magic);
  for (const std::uint32_t s : sizes) out += big_endian(s);
  for (const int v : data) out += static_cast<char>(v);
  return out;
}

Bytes images_idx(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, const std::vector<int>& pixels) {
  return idx(2051, {count, rows, cols}, pixels);
}
Bytes labels_idx(const std::vector<int>& labels) {
  return idx(2049, {static_cast<std::uint32_t>(labels.size())}, labels);
}

// n bytes 0, 7, 14, ... (mod 256): distinct neighbours, every value range.
std::vector<int> ramp(std::size_t n, int step = 7) {
  std::vector<int> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<int>(i * static_cast<std::size_t>(step) % 256);
  return v;
}

std::vector<double> scaled(const std::vector<int>& bytes) {
  std::vector<double> v;
  for (const int b : bytes) v.push_back(static_cast<float>(b) / 255.0f);
  return v;
}

void write_raw(const fs::path& path, const Bytes& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void write_gz(const fs::path& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(file) == Z_OK);
}


// The four MNIST files of one split in `root`.
void write_mnist_split(const fs::path& root, const std::string& split, const Bytes& images, const Bytes& labels,
                       bool gzipped) {
  const std::string suffix = gzipped ? ".gz" : "";
  const auto write = gzipped ? write_gz : write_raw;
  write(root / (split + "-images-idx3-ubyte" + suffix), images);
  write(root / (split + "-labels-idx1-ubyte" + suffix), labels);
}

// inputs [n, 1] = 0, 1, ..., n - 1 (so a batch shows which examples it holds), targets i64 the same.
std::shared_ptr<TensorDataset> counting_dataset(std::int64_t n) {
  return std::make_shared<TensorDataset>(arange(static_cast<double>(n)).reshape({n, 1}),
                                         arange(static_cast<double>(n), {.dtype = i64}));
}

// Every batch of one pass, as the example indices each holds.
std::vector<std::vector<std::int64_t>> pass(DataLoader& loader) {
  std::vector<std::vector<std::int64_t>> batches;
  for (const Batch& batch : loader) {
    CHECK(batch.inputs.to_vector<std::int64_t>() == batch.targets.to_vector<std::int64_t>());
    batches.push_back(batch.targets.to_vector<std::int64_t>());
  }
  return batches;
}

// 0, 1, ..., n - 1
std::vector<std::int64_t> in_order(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

std::vector<std::int64_t> flat(const std::vector<std::vector<std::int64_t>>& batches) {
  std::vector<std::int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

// Counts get() calls and notes the threads they ran on; throws at `failing_index`.
class WatchedDataset : public Dataset {
 public:
  explicit WatchedDataset(std::int64_t n, std::int64_t failing_index = -1) : n_(n), failing_index_(failing_index) {}
  std::int64_t size() const override { return n_; }
  Example get(std::int64_t index) const override {
    ++calls;
    {
      std::lock_guard lock(mutex_);
      threads.insert(std::this_thread::get_id());
    }
    if (index == failing_index_) throw ValueError("WatchedDataset: example " + std::to_string(index) + " is broken");
    return {full({2}, static_cast<double>(index)), scalar_tensor(static_cast<double>(index), {.dtype = i64})};
  }
  std::set<std::thread::id> seen_threads() const {
    std::lock_guard lock(mutex_);
    return threads;
  }

  mutable std::atomic<std::int64_t> calls{0};

 private:
  std::int64_t n_, failing_index_;
  mutable std::mutex mutex_;
  mutable std::set<std::thread::id> threads;
};

void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(100)); }

}  // namespace

// ---- IDX ------------------------------------------------------------------------------

TEST_CASE("read_idx_images and read_idx_labels read plain and gzipped files", "[data][idx]") {
  const fs::path dir = scratch("idx_read");
  const std::vector<int> pixels = ramp(3 * 2 * 4);
  const std::vector<int> labels{9, 0, 255};
  for (const bool gzipped : {false, true}) {
    INFO("gzipped " << gzipped);
    const std::string suffix = gzipped ? ".gz" : "";
    const auto write = gzipped ? write_gz : write_raw;
    write(dir / ("images" + suffix), images_idx(3, 2, 4, pixels));
    write(dir / ("labels" + suffix), labels_idx(labels));

    const Tensor images = read_idx_images((dir / ("images" + suffix)).string());
    CHECK(images.dtype() == f32);
    CHECK(images.shape() == Shape{3, 1, 2, 4});
    require_values(images, scaled(pixels), 0);
    const Tensor read_labels = read_idx_labels((dir / ("labels" + suffix)).string());
    CHECK(read_labels.dtype() == i64);
    CHECK(read_labels.to_vector<std::int64_t>() == std::vector<std::int64_t>{9, 0, 255});
  }
  // Empty files are valid IDX: zero images of 28x28.
  write_raw(dir / "none", images_idx(0, 28, 28, {}));
  CHECK(read_idx_images((dir / "none").string()).shape() == Shape{0, 1, 28, 28});
}

TEST_CASE("IDX errors name the file and what is wrong", "[data][idx][errors]") {
  const fs::path dir = scratch("idx_errors");
  const Bytes images = images_idx(3, 2, 4, ramp(24));
  const std::string missing = (dir / "missing-images").string();
  XGRAD_REQUIRE_THROWS_WITH(read_idx_images(missing), IOError, "read_idx_images", "cannot open", missing.c_str());
  XGRAD_REQUIRE_THROWS_WITH(read_idx_labels(missing), IOError, "read_idx_labels", missing.c_str());

  SECTION("a .gz name without gzip data") {
    write_raw(dir / "images.gz", images);
    XGRAD_REQUIRE_THROWS_WITH(read_idx_images((dir / "images.gz").string()), IOError, "images.gz", "not a gzip file");
  }
  SECTION("corrupt gzip data: a wrong checksum, a cut stream") {
    write_gz(dir / "images.gz", images);
    Bytes gz = read_bytes(dir / "images.gz");
    Bytes bad_checksum = gz;
    bad_checksum[bad_checksum.size() - 8] ^= 0x5a;  // the CRC-32 in the trailer
    write_raw(dir / "checksum.gz", bad_checksum);
    XGRAD_REQUIRE_THROWS_WITH(read_idx_images((dir / "checksum.gz").string()), IOError, "read_idx_images",
                              "corrupt gzip data", "checksum.gz");
    write_raw(dir / "cut.gz", gz.substr(0, gz.size() / 2));
    XGRAD_REQUIRE_THROWS_WITH(read_idx_images((dir / "cut.gz").string()), IOError, "corrupt gzip data", "cut.gz",
                              "unexpected end of file");
  }
  SECTION("wrong magic number: expected and found") {
    write_raw(dir / "labels", labels_idx({1, 2, 3}));
    write_raw(dir / "images", images);
    XGRAD_REQUIRE_THROWS_WITH(read_idx_images((dir / "labels").string()), IOError, "labels", "magic number 2049",
                              "image file has 2051");
    XGRAD_REQUIRE_THROWS_WITH(read_idx_labels((dir / "images").string()), IOError, "images", "magic number 2051",
                              "label file has 2049");
  }
  SECTION("truncated: header or data") {
    write_raw(dir / "short-header", images.substr(0, 10));
    XGRAD_REQUIRE_THROWS_WITH(read_idx_images((dir / "short-header").string()), IOError, "short-header", "too short",
                              "expected 16 bytes, got 10");
    write_raw(dir / "short-data", images.substr(0, 16 + 20));
    XGRAD_REQUIRE_THROWS_WITH(read_idx_images((dir / "short-data").string()), IOError, "short-data", "truncated",
                              "expected 24 bytes", "3 images of 2x4", "got 20");
    write_gz(dir / "short-data.gz", images.substr(0, 16 + 20));
    XGRAD_REQUIRE_THROWS_WITH(read_idx_images((dir / "short-data.gz").string()), IOError, "short-data.gz", "truncated",
                              "got 20");
    write_raw(dir / "short-labels", labels_idx({1, 2, 3}).substr(0, 10));
    XGRAD_REQUIRE_THROWS_WITH(read_idx_labels((dir / "short-labels").string()), IOError, "short-labels",
                              "expected 3 bytes", "got 2");
  }
  SECTION("bytes past the announced end") {
    write_raw(dir / "long", images + "x");
    XGRAD_REQUIRE_THROWS_WITH(read_idx_images((dir / "long").string()), IOError, "long", "longer than its header");
  }
  SECTION("sizes whose product overflows") {
    write_raw(dir / "huge", images_idx(0x7fffffffu, 0x7fffffffu, 0x7fffffffu, {}));
    XGRAD_REQUIRE_THROWS_WITH(read_idx_images((dir / "huge").string()), IOError, "huge", "overflow");
  }
}

// ---- MNIST / Fashion-MNIST --------------------------------------------------------------

TEST_CASE("MNIST reads a folder of IDX files (plain before gzipped)", "[data][mnist]") {
  const fs::path dir = scratch("mnist");
  const std::vector<int> train_pixels = ramp(3 * 2 * 2), test_pixels = ramp(2 * 2 * 2, 11);
  write_mnist_split(dir, "train", images_idx(3, 2, 2, train_pixels), labels_idx({7, 0, 9}), false);
  write_mnist_split(dir, "t10k", images_idx(2, 2, 2, test_pixels), labels_idx({3, 1}), true);

  const MNIST train(dir.string());
  CHECK(train.size() == 3);
  CHECK(train.images().shape() == Shape{3, 1, 2, 2});
  const Example second = train.get(1);
  CHECK(second.input.shape() == Shape{1, 2, 2});
  require_values(second.input, scaled({train_pixels.begin() + 4, train_pixels.begin() + 8}), 0);
  CHECK(second.target.shape() == Shape{});
  CHECK(second.target.item<std::int64_t>() == 0);
  CHECK(train.classes().size() == 10);
  CHECK(train.classes()[7] == "7 - seven");

  const MNIST test(dir.string(), false);
  CHECK(test.size() == 2);
  CHECK(test.labels().to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 1});
  require_values(test.images(), scaled(test_pixels), 0);

  // The plain file wins over a gzipped one beside it.
  write_gz(dir / "train-labels-idx1-ubyte.gz", labels_idx({1, 1, 1}));
  CHECK(MNIST(dir.string()).labels().to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 0, 9});
}

TEST_CASE("MNIST errors: missing files and count mismatch and labels out of range", "[data][mnist][errors]") {
  const fs::path dir = scratch("mnist_errors");
  const std::string images = (dir / "train-images-idx3-ubyte").string();
  XGRAD_REQUIRE_THROWS_WITH(MNIST(dir.string()), IOError, "MNIST", "neither", images.c_str(),
                            "train-images-idx3-ubyte.gz");
  XGRAD_REQUIRE_THROWS_WITH(FashionMNIST(dir.string(), false), IOError, "FashionMNIST", "t10k-images-idx3-ubyte",
                            "dataset-fashion-mnist");

  write_mnist_split(dir, "train", images_idx(3, 2, 2, ramp(12)), labels_idx({1, 2}), false);
  XGRAD_REQUIRE_THROWS_WITH(MNIST(dir.string()), IOError, "MNIST", "holds 3 images", "holds 2 labels",
                            "train-labels-idx1-ubyte");

  write_raw(dir / "train-labels-idx1-ubyte", labels_idx({1, 10, 2}));
  XGRAD_REQUIRE_THROWS_WITH(MNIST(dir.string()), IOError, "MNIST", "label 10 at index 1", "outside 0..9",
                            "train-labels-idx1-ubyte");
}

TEST_CASE("FashionMNIST reads Debian's dataset-fashion-mnist", "[data][mnist][fashion]") {
  if (!fs::exists(fs::path(FashionMNIST::default_root) / "train-images-idx3-ubyte.gz")) {
    WARN("dataset-fashion-mnist is not installed; skipping (apt-get install dataset-fashion-mnist)");
    return;
  }
  const FashionMNIST train;
  CHECK(train.size() == 60000);
  CHECK(train.images().shape() == Shape{60000, 1, 28, 28});
  CHECK(train.labels().shape() == Shape{60000});
  CHECK(train.labels().slice(0, 0, 10).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5});
  CHECK(train.classes()[9] == "Ankle boot");
  // The first image's pixel bytes add up to 76247; the training set's mean and std
  // are the constants quoted for Normalize.
  CHECK(train.get(0).input.sum().item() == Approx(76247.0 / 255).epsilon(1e-6));
  const Tensor& pixels = train.images();
  const double mean = pixels.mean().item();
  CHECK(mean == Approx(0.2860).margin(5e-5));
  CHECK(std::sqrt((pixels * pixels).mean().item() - mean * mean) == Approx(0.3530).margin(5e-5));

  const FashionMNIST test(FashionMNIST::default_root, false);
  CHECK(test.size() == 10000);
  CHECK(test.images().shape() == Shape{10000, 1, 28, 28});
  CHECK(test.labels().slice(0, 0, 10).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7});
  CHECK(test.get(0).input.sum().item() == Approx(33456.0 / 255).epsilon(1e-6));
}

// ---- CIFAR-10 -------------------------------------------------------------------------

namespace {

// One CIFAR-10 record: label, then pixel byte k = (seed + k) % 256.
Bytes cifar_record(int label, int seed) {
  Bytes r(1, static_cast<char>(label));
  for (int k = 0; k < 3072; ++k) r += static_cast<char>((seed + k) % 256);
  return r;
}

void write_cifar(const fs::path& dir) {
  write_raw(dir / "data_batch_1.bin", cifar_record(3, 0) + cifar_record(9, 1));
  for (int i = 2; i <= 5; ++i) write_raw(dir / ("data_batch_" + std::to_string(i) + ".bin"), cifar_record(i, i * 10));
  write_raw(dir / "test_batch.bin", cifar_record(0, 100));
}

}  // namespace

TEST_CASE("CIFAR10 reads the binary batches", "[data][cifar]") {
  const fs::path dir = scratch("cifar");
  write_cifar(dir);
  const CIFAR10 train(dir.string());
  CHECK(train.size() == 6);
  CHECK(train.images().shape() == Shape{6, 3, 32, 32});
  CHECK(train.labels().to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 9, 2, 3, 4, 5});
  // Record 1 (seed 1): channel c, row y, column x is byte 1 + c*1024 + y*32 + x.
  const Tensor image = train.get(1).input;
  CHECK(image.shape() == Shape{3, 32, 32});
  for (const auto [c, y, x] : {std::array{0, 0, 0}, {0, 0, 31}, {1, 5, 7}, {2, 31, 31}}) {
    INFO("c " << c << " y " << y << " x " << x);
    const int byte = (1 + c * 1024 + y * 32 + x) % 256;
    CHECK(image.select(0, c).select(0, y).select(0, x).item() == static_cast<float>(byte) / 255.0f);
  }
  // Record 4 (data_batch_4, seed 40): the first red pixel.
  CHECK(train.images().select(0, 4).select(0, 0).select(0, 0).select(0, 0).item() == 40.0f / 255.0f);

  const CIFAR10 test(dir.string(), false);
  CHECK(test.size() == 1);
  CHECK(test.get(0).target.item<std::int64_t>() == 0);
  CHECK(test.classes()[0] == "airplane");
  CHECK(test.classes()[9] == "truck");
}

TEST_CASE("CIFAR10 errors: missing files and partial records and bad labels", "[data][cifar][errors]") {
  const fs::path dir = scratch("cifar_errors");
  write_cifar(dir);
  SECTION("missing") {
    fs::remove(dir / "data_batch_3.bin");
    XGRAD_REQUIRE_THROWS_WITH(CIFAR10(dir.string()), IOError, "CIFAR10", "data_batch_3.bin", "does not exist");
    XGRAD_REQUIRE_THROWS_WITH(CIFAR10((dir / "nowhere").string(), false), IOError, "test_batch.bin", "does not exist");
  }
  SECTION("not a whole number of records") {
    write_raw(dir / "test_batch.bin", cifar_record(1, 0) + "abc");
    XGRAD_REQUIRE_THROWS_WITH(CIFAR10(dir.string(), false), IOError, "test_batch.bin", "3076 bytes", "3073-byte");
    write_raw(dir / "test_batch.bin", "");
    XGRAD_REQUIRE_THROWS_WITH(CIFAR10(dir.string(), false), IOError, "test_batch.bin", "0 bytes");
  }
  SECTION("label out of range") {
    write_raw(dir / "data_batch_5.bin", cifar_record(4, 0) + cifar_record(10, 0));
    XGRAD_REQUIRE_THROWS_WITH(CIFAR10(dir.string()), IOError, "label 10 of record 1", "data_batch_5.bin",
                              "outside 0..9");
  }
}

// ---- TensorDataset ---------------------------------------------------------------------

TEST_CASE("TensorDataset indexes the first dim", "[data][dataset]") {
  const Tensor inputs = arange(6.0).reshape({3, 2});
  const TensorDataset data(inputs, from_vector(std::vector<std::int64_t>{4, 5, 6}));
  CHECK(data.size() == 3);
  const Example e = data.get(2);
  require_values(e.input, {4, 5});
  CHECK(e.target.item<std::int64_t>() == 6);
  CHECK(e.input.shares_storage(inputs));  // a view, no copy

  // Held detached: tensors that require grad give examples that do not.
  const TensorDataset tracked(ones({2, 2}, {.requires_grad = true}), zeros({2}));
  CHECK_FALSE(tracked.get(0).input.requires_grad());

  XGRAD_REQUIRE_THROWS_WITH(data.get(3), ValueError, "TensorDataset", "index 3", "3 examples");
  XGRAD_REQUIRE_THROWS_WITH(data.get(-1), ValueError, "index -1");
  XGRAD_REQUIRE_THROWS_WITH(TensorDataset(zeros({3, 2}), zeros({4})), ShapeError, "TensorDataset", "[3, 2]", "[4]",
                            "3 != 4");
  XGRAD_REQUIRE_THROWS_WITH(TensorDataset(scalar_tensor(1), zeros({1})), ShapeError, "inputs", "shape []");
  XGRAD_REQUIRE_THROWS_WITH(TensorDataset(zeros({1}), Tensor()), ShapeError, "targets", "undefined");
}

// ---- DataLoader ------------------------------------------------------------------------

// Range-for and std::ranges both accept a pass.
static_assert(std::input_iterator<DataLoader::Iterator>);
static_assert(std::sentinel_for<std::default_sentinel_t, DataLoader::Iterator>);

TEST_CASE("DataLoader stacks examples into batches (drop_last too)", "[data][loader]") {
  for (const bool prefetch : {false, true}) {
    INFO("prefetch " << prefetch);
    DataLoader loader(counting_dataset(10), {.batch_size = 4, .prefetch = prefetch});
    CHECK(loader.size() == 3);
    std::vector<Shape> shapes;
    for (const Batch& batch : loader) {
      shapes.push_back(batch.inputs.shape());
      CHECK(batch.inputs.dtype() == f32);
      CHECK(batch.targets.dtype() == i64);
      CHECK(batch.targets.shape() == Shape{batch.inputs.size(0)});
    }
    CHECK(shapes == std::vector<Shape>{{4, 1}, {4, 1}, {2, 1}});
    CHECK(pass(loader) == std::vector<std::vector<std::int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}});

    DataLoader dropping(counting_dataset(10), {.batch_size = 4, .drop_last = true, .prefetch = prefetch});
    CHECK(dropping.size() == 2);
    CHECK(pass(dropping) == std::vector<std::vector<std::int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}});

    DataLoader exact(counting_dataset(8), {.batch_size = 4, .drop_last = true, .prefetch = prefetch});
    CHECK(pass(exact).size() == 2);
    DataLoader single(counting_dataset(3), {.prefetch = prefetch});  // batch_size 1 by default
    CHECK(pass(single) == std::vector<std::vector<std::int64_t>>{{0}, {1}, {2}});
    DataLoader empty(counting_dataset(0), {.batch_size = 4, .prefetch = prefetch});
    CHECK(empty.size() == 0);
    CHECK(pass(empty).empty());
    DataLoader too_few(counting_dataset(3), {.batch_size = 4, .drop_last = true, .prefetch = prefetch});
    CHECK(too_few.size() == 0);
    CHECK(pass(too_few).empty());
  }
  XGRAD_REQUIRE_THROWS_WITH(DataLoader(counting_dataset(3), {.batch_size = 0}), ValueError, "DataLoader", "batch_size",
                            "got 0");
  XGRAD_REQUIRE_THROWS_WITH(DataLoader(nullptr), ValueError, "DataLoader", "null");
  DataLoader loader(counting_dataset(3));
  XGRAD_REQUIRE_THROWS_WITH(loader.set_epoch(-1), ValueError, "set_epoch", "-1");
}

TEST_CASE("DataLoader shuffles each index once per epoch as a function of seed and epoch", "[data][loader]") {
  const auto data = counting_dataset(23);
  const DataLoaderOptions options{.batch_size = 5, .shuffle = true, .seed = 42};
  DataLoader loader(data, options);
  std::vector<std::vector<std::int64_t>> orders;
  for (int epoch = 0; epoch < 4; ++epoch) {
    CHECK(loader.epoch() == epoch);  // passes advance the epoch by themselves
    const auto batches = pass(loader);
    CHECK(batches.size() == 5);
    CHECK(batches.back().size() == 3);
    std::vector<std::int64_t> order = flat(batches);
    std::vector<std::int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == in_order(23));  // each index exactly once
    orders.push_back(order);
  }
  CHECK(orders[0] != in_order(23));
  for (int a = 0; a < 4; ++a)
    for (int b = a + 1; b < 4; ++b) CHECK(orders[a] != orders[b]);

  // A new loader resumed at epoch 2 sees epoch 2's order; so does this one, sent back.
  DataLoader resumed(data, options);
  resumed.set_epoch(2);
  CHECK(flat(pass(resumed)) == orders[2]);
  CHECK(flat(pass(resumed)) == orders[3]);
  loader.set_epoch(1);
  CHECK(flat(pass(loader)) == orders[1]);

  DataLoader other_seed(data, {.batch_size = 5, .shuffle = true, .seed = 43});
  CHECK(flat(pass(other_seed)) != orders[0]);
  DataLoader unshuffled(data, {.batch_size = 5, .seed = 42});
  unshuffled.set_epoch(3);
  CHECK(flat(pass(unshuffled)) == in_order(23));
}

TEST_CASE("DataLoader gives the same batches with and without prefetch (augmentation included)", "[data][loader]") {
  manual_seed(3);
  const auto images = std::make_shared<TensorDataset>(rand({20, 1, 6, 6}), arange(20.0, {.dtype = i64}));
  const auto augment = transforms::Compose({transforms::RandomCrop(4, 1), transforms::RandomHorizontalFlip()});
  const auto run = [&](bool prefetch, std::int64_t epoch) {
    DataLoader loader(images, {.batch_size = 3, .shuffle = true, .seed = 9, .prefetch = prefetch}, augment);
    loader.set_epoch(epoch);
    std::vector<double> seen;
    for (const Batch& batch : loader) {
      CHECK(batch.inputs.shape()[1] == 1);
      CHECK(batch.inputs.size(2) == 4);
      for (const double v : values(batch.inputs)) seen.push_back(v);
      for (const double v : values(batch.targets)) seen.push_back(v);
    }
    return seen;
  };
  const std::vector<double> epoch0 = run(false, 0);
  CHECK(epoch0.size() == 20 * 16 + 20);
  CHECK(run(true, 0) == epoch0);
  CHECK(run(true, 1) == run(false, 1));
  CHECK(run(true, 1) != epoch0);  // another epoch: another order and other crops
}

TEST_CASE("DataLoader prefetches on a worker thread at most two batches ahead", "[data][loader][thread]") {
  const auto data = std::make_shared<WatchedDataset>(100);
  {
    DataLoader loader(data, {.batch_size = 5});
    auto it = loader.begin();
    CHECK(it->inputs.shape() == Shape{5, 2});
    settle();
    // Delivered + two queued + one assembled and waiting for room.
    CHECK(data->calls.load() <= 4 * 5);
    CHECK(data->seen_threads().count(std::this_thread::get_id()) == 0);
    ++it;
    CHECK(it->targets.to_vector<std::int64_t>() == std::vector<std::int64_t>{5, 6, 7, 8, 9});
  }
  const auto local = std::make_shared<WatchedDataset>(100);
  DataLoader loader(local, {.batch_size = 5, .prefetch = false});
  auto it = loader.begin();
  settle();
  CHECK(local->calls.load() == 5);
  CHECK(local->seen_threads() == std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST_CASE("DataLoader: leaving a pass early or dropping the loader stops the worker", "[data][loader][thread]") {
  const auto data = std::make_shared<WatchedDataset>(1000);
  auto loader = std::make_unique<DataLoader>(data, DataLoaderOptions{.batch_size = 2});
  int batches = 0;
  for (const Batch& batch : *loader) {
    (void)batch;
    if (++batches == 3) break;
  }
  // The pass (and its thread, which held the dataset) is gone at once.
  CHECK(data.use_count() == 2);  // here and in the loader
  const std::int64_t calls = data->calls.load();
  settle();
  CHECK(data->calls.load() == calls);
  CHECK(calls <= (3 + 3) * 2);

  // A pass outlives its loader; dropping both mid-pass joins the thread.
  auto it = loader->begin();
  loader.reset();
  ++it;
  CHECK(it->targets.to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 3});
  { [[maybe_unused]] const auto done = std::move(it); }
  CHECK(data.use_count() == 1);

  // Many passes abandoned right after they start.
  DataLoader again(data, {.batch_size = 7, .shuffle = true});
  for (int i = 0; i < 50; ++i) (void)again.begin();
  CHECK(data.use_count() == 2);
}

TEST_CASE("DataLoader rethrows a worker's exception at the batch that failed", "[data][loader][thread]") {
  for (const bool prefetch : {false, true}) {
    INFO("prefetch " << prefetch);
    const auto data = std::make_shared<WatchedDataset>(20, /*failing_index=*/7);
    DataLoader loader(data, {.batch_size = 2, .prefetch = prefetch});
    std::vector<std::int64_t> delivered;
    const auto consume = [&] {
      for (const Batch& batch : loader)
        for (const std::int64_t i : batch.targets.to_vector<std::int64_t>()) delivered.push_back(i);
    };
    XGRAD_REQUIRE_THROWS_WITH(consume(), ValueError, "WatchedDataset: example 7 is broken");
    CHECK(delivered == in_order(6));  // the batches before the failing one
    CHECK(data.use_count() == 2);     // the pass is gone
  }
  // A transform's error too.
  DataLoader bad_transform(counting_dataset(4), {.batch_size = 2},
                           [](const Tensor& x, Generator&) -> Tensor { return x.reshape({7}); });
  XGRAD_REQUIRE_THROWS_WITH((void)bad_transform.begin(), ShapeError, "reshape");
}

// ---- transforms --------------------------------------------------------------------------

namespace {

// [C, H, W] from values, f32 by default.
Tensor image(const std::vector<double>& v, Shape shape, DType dtype = f32) {
  return from_vector(v, shape, {.dtype = dtype});
}

}  // namespace

TEST_CASE("transforms: Normalize per channel", "[data][transforms]") {
  Generator g;
  const Tensor x = image({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2}, f64);
  const Tensor y = transforms::Normalize({1, 2}, {2, 0.5})(x, g);
  require_values(y, {0, 0.5, 1, 1.5, 6, 8, 10, 12});
  CHECK(y.dtype() == f64);
  require_values(transforms::Normalize({0.5}, {0.5})(image({0, 1}, {1, 1, 2}), g), {-1, 1});
  CHECK(transforms::Normalize({0.5}, {0.5})(image({0, 1}, {1, 1, 2}), g).dtype() == f32);
  require_values(transforms::Normalize({1}, {2})(x, g), {0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5});  // one for all

  XGRAD_REQUIRE_THROWS_WITH(transforms::Normalize({1, 2, 3}, {1, 1, 1})(x, g), ShapeError, "Normalize", "3 means",
                            "2 channels");
  XGRAD_REQUIRE_THROWS_WITH(transforms::Normalize({1, 2}, {1, 0}), ValueError, "Normalize", "zero");
  XGRAD_REQUIRE_THROWS_WITH(transforms::Normalize({1, 2}, {1}), ValueError, "Normalize", "equal length");
  XGRAD_REQUIRE_THROWS_WITH(transforms::Normalize({}, {}), ValueError, "non-empty");
  XGRAD_REQUIRE_THROWS_WITH(transforms::Normalize({0}, {1})(zeros({2, 2}), g), ShapeError, "Normalize", "[C, H, W]",
                            "[2, 2]");
  XGRAD_REQUIRE_THROWS_WITH(transforms::Normalize({0}, {1})(zeros({1, 2, 2}, {.dtype = i64}), g), DTypeError,
                            "Normalize", "i64");
}

TEST_CASE("transforms: Pad", "[data][transforms]") {
  Generator g;
  const Tensor x = image({1, 2, 3, 4}, {1, 2, 2});
  const Tensor all = transforms::Pad(1, -1)(x, g);
  CHECK(all.shape() == Shape{1, 4, 4});
  require_values(all, {-1, -1, -1, -1, -1, 1, 2, -1, -1, 3, 4, -1, -1, -1, -1, -1});
  // {left/right, top/bottom}
  const Tensor sides = transforms::Pad({1, 0})(x, g);
  CHECK(sides.shape() == Shape{1, 2, 4});
  require_values(sides, {0, 1, 2, 0, 0, 3, 4, 0});
  // {left, top, right, bottom}
  const Tensor each = transforms::Pad({0, 1, 2, 0})(image({5}, {1, 1, 1}), g);
  CHECK(each.shape() == Shape{1, 2, 3});
  require_values(each, {0, 0, 0, 5, 0, 0});

  XGRAD_REQUIRE_THROWS_WITH(transforms::Pad({1, 2, 3}), ValueError, "Pad", "1, 2", "or 4", "[1, 2, 3]");
  XGRAD_REQUIRE_THROWS_WITH(transforms::Pad(-1), ValueError, "Pad", "negative");
}

TEST_CASE("transforms: RandomCrop with padding cuts the window the generator picks", "[data][transforms]") {
  // The 2x2 image padded by 1:
  //   0 0 0 0
  //   0 1 2 0
  //   0 3 4 0
  //   0 0 0 0
  const double padded[4][4] = {{0, 0, 0, 0}, {0, 1, 2, 0}, {0, 3, 4, 0}, {0, 0, 0, 0}};
  const Tensor x = image({1, 2, 3, 4}, {1, 2, 2});
  const transforms::RandomCrop crop(2, 1);
  std::set<std::pair<std::int64_t, std::int64_t>> corners;
  for (std::uint64_t seed = 0; seed < 60; ++seed) {
    Generator g(seed), replay(seed);
    const std::int64_t top = random_index(replay, 3), left = random_index(replay, 3);  // top row first
    corners.insert({top, left});
    const Tensor y = crop(x, g);
    CHECK(y.shape() == Shape{1, 2, 2});
    require_values(y, {padded[top][left], padded[top][left + 1], padded[top + 1][left], padded[top + 1][left + 1]});
    CHECK(g.next_u64() == replay.next_u64());  // exactly two draws
  }
  CHECK(corners.size() == 9);  // every position is drawn

  // {H, W}; no padding; the whole image when the sizes are equal.
  Generator g(1);
  const Tensor wide = image({1, 2, 3, 4, 5, 6}, {1, 2, 3});
  const Tensor row = transforms::RandomCrop({1, 3})(wide, g);
  CHECK(row.shape() == Shape{1, 1, 3});
  CHECK((values(row) == std::vector<double>{1, 2, 3} || values(row) == std::vector<double>{4, 5, 6}));
  require_values(transforms::RandomCrop({2, 3})(wide, g), {1, 2, 3, 4, 5, 6});

  XGRAD_REQUIRE_THROWS_WITH(transforms::RandomCrop(4, 0)(wide, g), ShapeError, "RandomCrop", "4x4", "[1, 2, 3]", "2x3");
  XGRAD_REQUIRE_THROWS_WITH(transforms::RandomCrop({2}), ValueError, "RandomCrop", "{H, W}");
  XGRAD_REQUIRE_THROWS_WITH(transforms::RandomCrop(2, -1), ValueError, "RandomCrop", "negative");
}

TEST_CASE("transforms: RandomHorizontalFlip", "[data][transforms]") {
  Generator g;
  const Tensor x = image({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 2, 3}, f64);
  require_values(transforms::RandomHorizontalFlip(1.0)(x, g), {3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10});
  require_values(transforms::RandomHorizontalFlip(0.0)(x, g), values(x));
  // A view (every other column) flips too.
  require_values(transforms::RandomHorizontalFlip(1.0)(x.slice(2, 0, 3, 2), g), {3, 1, 6, 4, 9, 7, 12, 10});

  // p = 0.5: one draw per call, flipping when it is below p.
  int flipped = 0;
  const transforms::RandomHorizontalFlip coin;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    Generator h(seed), replay(seed);
    const bool expect_flip = replay.uniform() < 0.5;
    const Tensor y = coin(x, h);
    CHECK(values(y)[0] == (expect_flip ? 3 : 1));
    flipped += expect_flip;
  }
  CHECK(flipped > 70);
  CHECK(flipped < 130);
  XGRAD_REQUIRE_THROWS_WITH(transforms::RandomHorizontalFlip(1.5), ValueError, "RandomHorizontalFlip", "[0, 1]");
}

TEST_CASE("transforms: Resize is bilinear with align_corners = false", "[data][transforms]") {
  Generator g;
  // Up 2x2 -> 4x4: source positions (o + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (last pixel).
  const Tensor up = transforms::Resize({4, 4})(image({0, 1, 2, 3}, {1, 2, 2}, f64), g);
  CHECK(up.shape() == Shape{1, 4, 4});
  require_values(up, {0, 0.25, 0.75, 1,      //
                      0.5, 0.75, 1.25, 1.5,  //
                      1.5, 1.75, 2.25, 2.5,  //
                      2, 2.25, 2.75, 3});
  // Down 1x4 -> 1x2: positions 0.5 and 2.5, halfway between neighbours.
  require_values(transforms::Resize({1, 2})(image({0, 1, 2, 3}, {1, 1, 4}, f64), g), {0.5, 2.5});
  // 1x3 -> 1x2 (scale 1.5): positions 0.25 and 1.75; two channels, f32.
  const Tensor down = transforms::Resize({1, 2})(image({0, 10, 20, 100, 110, 120}, {2, 1, 3}), g);
  CHECK(down.dtype() == f32);
  require_values(down, {2.5, 17.5, 102.5, 117.5}, 1e-6);
  // Same size: unchanged.
  require_values(transforms::Resize({2, 2})(image({0, 1, 2, 3}, {1, 2, 2}), g), {0, 1, 2, 3});

  XGRAD_REQUIRE_THROWS_WITH(transforms::Resize({0, 2}), ValueError, "Resize", "[0, 2]");
  XGRAD_REQUIRE_THROWS_WITH(transforms::Resize({4, 4})(zeros({1, 0, 2}), g), ShapeError, "Resize", "empty");
}

TEST_CASE("transforms: Compose applies in order", "[data][transforms]") {
  Generator g;
  const transforms::Compose pad_then_normalize({transforms::Pad(1), transforms::Normalize({1}, {2})});
  require_values(pad_then_normalize(image({3}, {1, 1, 1}), g), {-0.5, -0.5, -0.5, -0.5, 1, -0.5, -0.5, -0.5, -0.5});
  require_values(transforms::Compose({})(image({3}, {1, 1, 1}), g), {3});
  XGRAD_REQUIRE_THROWS_WITH(transforms::Compose({Transform()}), ValueError, "Compose", "transform 0 is empty");
}

TEST_CASE("Subset picks examples by index and refuses indices outside the dataset", "[data][subset]") {
  auto base = std::make_shared<data::TensorDataset>(arange(0, 5, 1, {.dtype = f32}).reshape({5, 1}),
                                                    arange(0, 5, 1, {.dtype = i64}));
  const data::Subset subset(base, {4, 0, 2});
  CHECK(subset.size() == 3);
  CHECK(subset.get(0).target.item<std::int64_t>() == 4);
  CHECK(subset.get(1).input.item<float>() == 0.0f);
  CHECK(subset.get(2).target.item<std::int64_t>() == 2);
  XGRAD_REQUIRE_THROWS_WITH(subset.get(3), ValueError, "Subset", "index 3", "3 examples");
  XGRAD_REQUIRE_THROWS_WITH(data::Subset(base, {1, 5}), ValueError, "Subset", "index 5", "position 1", "5 examples");
  XGRAD_REQUIRE_THROWS_WITH(data::Subset(nullptr, {}), ValueError, "null");
}
