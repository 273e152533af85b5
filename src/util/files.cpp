#include "util/files.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "util/check.hpp"

namespace xgrad::detail {

void write_file_atomically(const std::string& path, std::string_view contents, const char* op) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  // Same folder, so the rename stays on one file system; pid and a counter keep
  // concurrent writers (other processes, other threads) apart.
  static std::atomic<std::uint64_t> counter{0};
  const fs::path temporary = target.parent_path() / (target.filename().string() + ".tmp-" + std::to_string(getpid()) +
                                                     "-" + std::to_string(counter.fetch_add(1)));
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) fail<IOError>("{}: cannot create '{}': {}", op, temporary.string(), std::strerror(errno));
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) {
      const std::string reason = std::strerror(errno);
      std::error_code ignored;
      fs::remove(temporary, ignored);
      fail<IOError>("{}: writing '{}' failed: {}", op, temporary.string(), reason);
    }
  }
  std::error_code error;
  fs::rename(temporary, target, error);
  if (error) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    fail<IOError>("{}: cannot move the finished file to '{}': {}", op, path, error.message());
  }
}

}  // namespace xgrad::detail
