// The lecture notes' Example 1.1: classic image filters are convolutions.
// Each 3x3 (or 5x5) kernel is applied to every colour channel on its own
// (conv2d with groups = 3, one kernel per channel) and the results are written
// as PNG files.
//
//   ./build/examples/filters [image] [output folder]
//
// The default image is the photograph of a cat ("chelsea.png") that Debian's
// python3-skimage package ships; any PNG or JPEG works.

#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "cli.hpp"

using xgrad::Tensor;

namespace {

constexpr const char* kDefaultImage = "/usr/lib/python3/dist-packages/skimage/data/chelsea.png";

struct Filter {
  std::string name;
  std::vector<float> kernel;  // row-major, square
  bool signed_response;       // edges: show |response|, scaled to the strongest edge
};

std::vector<Filter> filters() {
  const float b = 1.0f / 9, g = 1.0f / 256;
  return {
      {"box_blur", {b, b, b, b, b, b, b, b, b}, false},
      {"gaussian_blur",
       {1 * g, 4 * g,  6 * g,  4 * g,  1 * g,   //
        4 * g, 16 * g, 24 * g, 16 * g, 4 * g,   //
        6 * g, 24 * g, 36 * g, 24 * g, 6 * g,   //
        4 * g, 16 * g, 24 * g, 16 * g, 4 * g,   //
        1 * g, 4 * g,  6 * g,  4 * g,  1 * g},
       false},
      {"edges_horizontal_sobel", {-1, -2, -1, 0, 0, 0, 1, 2, 1}, true},
      {"edges_vertical_sobel", {-1, 0, 1, -2, 0, 2, -1, 0, 1}, true},
      {"sharpen", {0, -1, 0, -1, 5, -1, 0, -1, 0}, false},
  };
}

// One copy of the kernel per channel: weight [channels, 1, k, k] for groups = channels.
Tensor depthwise_weight(const Filter& f, std::int64_t channels) {
  const auto k = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(f.kernel.size()))));
  std::vector<float> w;
  for (std::int64_t c = 0; c < channels; ++c) w.insert(w.end(), f.kernel.begin(), f.kernel.end());
  return xgrad::from_vector(w, {channels, 1, k, k});
}

}  // namespace

int main(int argc, char** argv) {
  std::string input = kDefaultImage;
  std::filesystem::path out_dir = "filters_out";
  cli::App app{"Box and Gaussian blur, Sobel edges and sharpening as depthwise convolutions, written as PNGs."};
  app.add_option("image,--image", input, "a PNG or JPEG")->check(CLI::ExistingFile);
  app.add_option("out,--out", out_dir, "folder for the PNGs");
  cli::parse_or_exit(app, argc, argv);
  try {
    const Tensor image = xgrad::read_image(input, 3).unsqueeze(0);  // [1, 3, H, W]
    std::filesystem::create_directories(out_dir);
    xgrad::write_png(image.squeeze(0), (out_dir / "original.png").string());
    std::cout << "read " << input << " " << xgrad::shape_to_string(image.shape()) << "\n";
    xgrad::NoGradGuard no_grad;
    for (const Filter& f : filters()) {
      const auto start = std::chrono::steady_clock::now();
      Tensor y = xgrad::conv2d(image, depthwise_weight(f, 3), {}, {.padding = "same", .groups = 3});
      if (f.signed_response) {
        y = y.abs();
        y = y / y.max().item();
      }
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      const std::filesystem::path file = out_dir / (f.name + ".png");
      xgrad::write_png(y.squeeze(0), file.string());
      std::cout << "  " << f.name << " -> " << file.string() << " (" << ms << " ms)\n";
    }
  } catch (const xgrad::Error& e) {
    std::cerr << "filters: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
