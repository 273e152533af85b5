#pragma once
// Shared by the fuzz targets (libFuzzer entry points, one file per parser).
// xgrad's loaders take paths, so each input is written to a file first.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>

#include "xgrad/error.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::fuzz {

/// A folder of this process's own under /dev/shm (memory, fast) or the temp dir.
inline const std::filesystem::path& scratch_folder() {
  static const std::filesystem::path folder = [] {
    namespace fs = std::filesystem;
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path f = base / ("xgrad-fuzz-" + std::to_string(getpid()));
    fs::create_directories(f);
    return f;
  }();
  return folder;
}

/// Writes the input to `name` in the scratch folder and returns its path.
inline std::string write_input(const std::uint8_t* data, std::size_t size, const std::string& name) {
  const std::string path = (scratch_folder() / name).string();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
  return path;
}

/// Reads every element of a loaded tensor and prints it, so a tensor that loaded
/// wrongly (bad shape, strides or storage) shows up under the sanitizers.
inline void touch(const Tensor& t) {
  const Tensor flat = t.contiguous();
  double sum = 0;
  if (flat.dtype() == i64) {
    const std::int64_t* v = flat.data<std::int64_t>();
    for (std::int64_t i = 0; i < flat.numel(); ++i) sum += static_cast<double>(v[i]);
  } else {
    const Tensor f = flat.to(f64);
    const double* v = f.data<double>();
    for (std::int64_t i = 0; i < f.numel(); ++i) sum += v[i];
  }
  std::ostringstream text;
  text << t << sum;
}

}  // namespace xgrad::fuzz
