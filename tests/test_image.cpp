// PNG in and out.

#include <filesystem>
#include <fstream>

#include "support.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace fs = std::filesystem;

namespace {
fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "xgrad_test_image";
  fs::create_directories(dir);
  return dir / name;
}
}  // namespace

TEST_CASE("write_png then read_image gives the same pixels", "[image]") {
  // 2x3 RGB with values on the 8-bit grid, so the round trip is exact.
  std::vector<float> v;
  for (int i = 0; i < 18; ++i) v.push_back(static_cast<float>(i * 14) / 255.0f);
  const Tensor img = from_vector(v, {3, 2, 3});
  const fs::path file = scratch("rgb.png");
  write_png(img, file.string());
  const Tensor back = read_image(file.string());
  CHECK(back.shape() == Shape{3, 2, 3});
  require_values(back, std::vector<double>(v.begin(), v.end()), 1e-7);
  CHECK(read_image(file.string(), 1).shape() == Shape{1, 2, 3});
  CHECK(read_image(file.string(), 4).shape() == Shape{4, 2, 3});

  // Grey [H, W], clamped.
  write_png(from_vector(std::vector<double>{-1, 0.5, 2, 1}, {2, 2}), file.string());
  require_values(read_image(file.string()), {0, 128.0 / 255, 1, 1}, 1e-7);
  for (const auto& entry : fs::directory_iterator(file.parent_path()))
    CHECK(entry.path().string().find(".tmp-") == std::string::npos);  // nothing half-written left
}

TEST_CASE("image errors name the file and the problem", "[image][errors]") {
  XGRAD_REQUIRE_THROWS_WITH(read_image("/nonexistent/cat.png"), IOError, "read_image", "/nonexistent/cat.png");
  const fs::path junk = scratch("junk.png");
  std::ofstream(junk) << "not a png";
  XGRAD_REQUIRE_THROWS_WITH(read_image(junk.string()), IOError, "junk.png");
  XGRAD_REQUIRE_THROWS_WITH(write_png(zeros({2, 4, 4}), scratch("x.png").string()), ShapeError, "write_png",
                            "[2, 4, 4]");
  XGRAD_REQUIRE_THROWS_WITH(write_png(zeros({1, 4, 4}), "/nonexistent/dir/x.png"), IOError, "write_png",
                            "/nonexistent/dir");
  XGRAD_REQUIRE_THROWS_WITH(read_image("x.png", 2), ValueError, "channels");
}
