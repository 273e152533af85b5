// Files from elsewhere: every problem the fuzzers and hand-made inputs found, as a
// regression test with its input (tests/fuzz/regressions holds the same bytes for
// the fuzz replays), plus what the loaders must refuse before allocating.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "support.hpp"
#include "xgrad/data/cifar10.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/image.hpp"
#include "xgrad/io.hpp"
#include "xgrad/nn/linear.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kFuzz = fs::path(XGRAD_SOURCE_DIR) / "tests" / "fuzz";

fs::path scratch(const std::string& name) { return process_scratch_dir("xgrad_test_io_hostile") / name; }

// `bytes` as the scratch file `name`.
fs::path scratch_file(const std::string& name, const std::string& bytes) {
  const fs::path path = scratch(name);
  write_bytes(path, bytes);
  return path;
}

// A committed fuzz input without the target's leading selector byte (idx, image).
fs::path fuzz_input(const std::string& kind, const std::string& target, const std::string& name, bool selector) {
  const std::string bytes = read_bytes(kFuzz / kind / target / name);
  REQUIRE(!bytes.empty());
  return scratch_file(target + "-" + name, selector ? bytes.substr(1) : bytes);
}

std::string safetensors_header(const std::string& json) {
  const std::uint64_t n = json.size();
  return std::string(reinterpret_cast<const char*>(&n), 8) + json;
}

std::string big_endian(std::initializer_list<std::uint32_t> words) {
  std::string out;
  for (std::uint32_t w : words)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((w >> shift) & 0xff));
  return out;
}

}  // namespace

// ---- safetensors, checkpoints, xgrad::load ----------------------------------------------

TEST_CASE("a JSON number too large for a double is an IOError from every loader", "[io][hostile]") {
  const std::string path = fuzz_input("regressions", "safetensors", "huge-number", false).string();
  XGRAD_REQUIRE_THROWS_WITH(load_safetensors(path), IOError, "load_safetensors", "not valid JSON");
  XGRAD_REQUIRE_THROWS_WITH(load_checkpoint(path), IOError, "not valid JSON");
  nn::Linear linear(3, 2);
  XGRAD_REQUIRE_THROWS_WITH(load(linear, path), IOError, "not valid JSON");
}

TEST_CASE("deeply nested JSON is refused at a fixed depth without recursion", "[io][hostile]") {
  const std::string path = fuzz_input("regressions", "safetensors", "deep-nesting", false).string();
  XGRAD_REQUIRE_THROWS_WITH(load_safetensors(path), IOError, "nests deeper than 16");
}

TEST_CASE("a tensor of 100,000 dims is refused", "[io][hostile]") {
  const std::string path = fuzz_input("regressions", "safetensors", "many-dims", false).string();
  XGRAD_REQUIRE_THROWS_WITH(load_safetensors(path), IOError, "has 100000 dims", "at most 64");
}

TEST_CASE("overlapping safetensors offsets are refused", "[io][hostile]") {
  const std::string path = fuzz_input("regressions", "safetensors", "overlap", false).string();
  XGRAD_REQUIRE_THROWS_WITH(load_safetensors(path), IOError, "overlap");
}

TEST_CASE("a zero-size tensor loads as a contiguous empty tensor", "[io][hostile]") {
  const std::string path = fuzz_input("regressions", "safetensors", "zero-size", false).string();
  const nn::StateDict tensors = load_safetensors(path);
  REQUIRE(tensors.size() == 1);
  const Tensor& t = tensors[0].second;
  CHECK(t.shape() == Shape{2, 0});
  CHECK(t.is_contiguous());
  CHECK_NOTHROW(t.data<float>());
}

TEST_CASE("a header of 20,000 tensors parses in linear time", "[io][hostile]") {
  std::string json = "{";
  for (int i = 0; i < 20000; ++i)
    json += std::string(i ? "," : "") + "\"t" + std::to_string(i) + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]})";
  json += "}";
  const std::string path = scratch_file("many.safetensors", safetensors_header(json)).string();
  const auto start = std::chrono::steady_clock::now();
  CHECK(load_safetensors(path).size() == 20000);
  // Quadratic parsing took seconds here (a linear scan per key); linear takes ~0.1 s, 10x that under ASan.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("a header length over 100 MB is refused before it is read", "[io][hostile]") {
  const fs::path path = scratch("huge-header.safetensors");
  {
    const std::uint64_t n = 200'000'000;
    std::ofstream(path, std::ios::binary) << std::string(reinterpret_cast<const char*>(&n), 8);
  }
  fs::resize_file(path, 8 + 200'000'000);  // sparse: nothing is written
  XGRAD_REQUIRE_THROWS_WITH(load_safetensors(path.string()), IOError, "200000000", "over the limit");
}

TEST_CASE("a tensor claiming 2^40 elements fails before any allocation", "[io][hostile]") {
  const std::string path =
      scratch_file("claim.safetensors",
                  safetensors_header(R"({"t":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4398046511104]}})"))
          .string();
  XGRAD_REQUIRE_THROWS_WITH(load_safetensors(path), IOError, "past the end of the data", "truncated");
}

// ---- IDX ----------------------------------------------------------------------------------

TEST_CASE("IDX headers with sizes of 2^31 or more are refused before anything is allocated", "[io][hostile][idx]") {
  const std::string path = fuzz_input("regressions", "idx", "huge-dims", true).string();
  XGRAD_REQUIRE_THROWS_WITH(data::read_idx_images(path), IOError, "read_idx_images", "4294967295", "2^31");
}

TEST_CASE("an IDX file of zero images loads as a contiguous [0, 1, 5, 5] tensor", "[io][hostile][idx]") {
  const Tensor images = data::read_idx_images(fuzz_input("regressions", "idx", "zero-images", true).string());
  CHECK(images.shape() == Shape{0, 1, 5, 5});
  CHECK(images.is_contiguous());
}

TEST_CASE("an IDX .gz announcing more than it can inflate to is refused without inflating", "[io][hostile][idx]") {
  // 2^31 - 1 labels from a gzip stream of about 60 bytes: more than 1032 bytes per byte.
  std::string header = big_endian({2049, 0x7fffffff});
  const fs::path raw = scratch_file("claim-labels", header + std::string(64, '\0'));
  const fs::path gz = scratch("claim-labels.gz");
  const std::string command = "gzip -c '" + raw.string() + "' > '" + gz.string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  XGRAD_REQUIRE_THROWS_WITH(data::read_idx_labels(gz.string()), IOError, "cannot hold", "2147483647");
  // A plain file must hold exactly what its header announces.
  XGRAD_REQUIRE_THROWS_WITH(data::read_idx_labels(raw.string()), IOError, "truncated", "2147483647", "got 64");
  // 2^32 - 1 labels: refused by the size limit.
  XGRAD_REQUIRE_THROWS_WITH(data::read_idx_labels(fuzz_input("regressions", "idx", "many-labels-gz", true).string()),
                            IOError, "2^31");
}

// ---- images ---------------------------------------------------------------------------------

TEST_CASE("PNG and JPEG decode to the pixels PIL decodes", "[image][hostile]") {
  const auto pixels = [](const std::string& name, int channels = 0) {
    const Tensor t = read_image(fuzz_input("corpus", "image", name, true).string(), channels);
    std::vector<double> v = values(t);
    for (double& x : v) x = std::round(x * 255);
    return std::pair(t.shape(), v);
  };
  // PIL 9.4 (Debian), Image.open(...).getdata(); HWC there, CHW here.
  const auto [gray_shape, gray] = pixels("gray.jpg");
  CHECK(gray_shape == Shape{1, 4, 5});
  CHECK(gray == std::vector<double>{4, 39, 62, 91, 112, 151, 133, 45, 68, 52, 105, 172, 154, 182, 87, 84, 113, 121,
                                    162, 185});
  const auto [rgb_shape, rgb] = pixels("rgb.jpg");
  CHECK(rgb_shape == Shape{3, 4, 5});
  CHECK(std::vector<double>(rgb.begin(), rgb.begin() + 5) == std::vector<double>{0, 0, 26, 26, 89});       // R, row 0
  CHECK(std::vector<double>(rgb.begin() + 20, rgb.begin() + 25) == std::vector<double>{23, 51, 90, 82, 130});  // G
  const auto [progressive_shape, progressive] = pixels("progressive.jpg");
  CHECK(std::vector<double>(progressive.begin() + 40, progressive.begin() + 45) ==
        std::vector<double>{22, 55, 76, 98, 112});  // B, row 0
  const auto [palette_shape, palette] = pixels("palette.png");
  CHECK(palette_shape == Shape{3, 4, 5});
  CHECK(std::vector<double>(palette.begin(), palette.begin() + 5) == std::vector<double>{0, 0, 0, 51, 51});
  const auto [bits_shape, bits] = pixels("bits1.png");
  CHECK(bits_shape == Shape{1, 4, 5});
  CHECK(std::vector<double>(bits.begin(), bits.begin() + 8) == std::vector<double>{0, 0, 0, 0, 255, 255, 255, 0});
  const auto [deep_shape, deep] = pixels("gray16.png");  // 16 bits -> the high byte
  CHECK(std::vector<double>(deep.begin(), deep.begin() + 4) == std::vector<double>{0, 11, 23, 35});
  const auto [alpha_shape, alpha] = pixels("gray-alpha.png");
  CHECK(alpha_shape == Shape{2, 4, 5});
  CHECK(pixels("gray-alpha.png", 4).first == Shape{4, 4, 5});
  CHECK(pixels("rgb.jpg", 1).first == Shape{1, 4, 5});
}

TEST_CASE("damaged PNG files are IOErrors, never garbage pixels", "[image][hostile]") {
  XGRAD_REQUIRE_THROWS_WITH(read_image(fuzz_input("regressions", "image", "empty-idat.png", true).string()), IOError,
                            "read_image", "PNG");
  XGRAD_REQUIRE_THROWS_WITH(read_image(fuzz_input("regressions", "image", "truncated.png", true).string()), IOError,
                            "read_image", "PNG");
  XGRAD_REQUIRE_THROWS_WITH(read_image(fuzz_input("regressions", "image", "huge-claim.png", true).string()), IOError,
                            "60000x60000", "over the limit");
}

TEST_CASE("a small PNG claiming a large image is refused before decoding", "[image][hostile]") {
  // IHDR of 8000 x 8000 RGB (64 Mpixel, under the pixel limit) in a file of ~100 bytes.
  XGRAD_REQUIRE_THROWS_WITH(read_image(fuzz_input("regressions", "image", "claim-8000.png", true).string()), IOError,
                            "8000x8000", "can inflate to");
}

TEST_CASE("damaged JPEG files are IOErrors", "[image][hostile]") {
  XGRAD_REQUIRE_THROWS_WITH(read_image(fuzz_input("regressions", "image", "truncated.jpg", true).string()), IOError,
                            "read_image", "JPEG");
  // A Huffman table with more than 256 codes: Debian's stb_image 2.27 wrote past its tables here.
  XGRAD_REQUIRE_THROWS_WITH(read_image(fuzz_input("regressions", "image", "huffman-overflow.jpg", true).string()),
                            IOError, "read_image", "JPEG");
}

TEST_CASE("formats other than PNG and JPEG are refused by name", "[image][hostile]") {
  XGRAD_REQUIRE_THROWS_WITH(read_image(fuzz_input("regressions", "image", "pnm.pgm", true).string()), IOError,
                            "neither a PNG nor a JPEG");
  XGRAD_REQUIRE_THROWS_WITH(read_image(scratch_file("empty.png", "").string()), IOError, "neither a PNG nor a JPEG");
}

// ---- atomic saves ------------------------------------------------------------------------------

TEST_CASE("a save removes the temporaries that killed writers left, and only those", "[io][hostile][atomic]") {
  const fs::path target = scratch("leftover.safetensors");
  pid_t gone = 4'000'000;  // a pid no process has
  while (::kill(gone, 0) == 0 || errno != ESRCH) --gone;
  const fs::path stale = scratch("leftover.safetensors.tmp-" + std::to_string(gone) + "-0");
  const fs::path live = scratch("leftover.safetensors.tmp-" + std::to_string(getpid()) + "-99");
  const fs::path other = scratch("other.safetensors.tmp-1-0");
  for (const fs::path& p : {stale, live, other}) std::ofstream(p) << "partial";
  save_safetensors({{"x", ones({2})}}, target.string());
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(live));   // a writer that still runs (this process) may be mid-save
  CHECK(fs::exists(other));  // another file's
  CHECK(load_safetensors(target.string()).size() == 1);
  fs::remove(live);
  fs::remove(other);
}
