#include "util/files.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "util/check.hpp"

namespace xgrad::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTemporaryTag = ".tmp-";

// The folder `target` is in ("." for a bare file name).
fs::path folder_of(const fs::path& target) {
  return target.parent_path().empty() ? fs::path(".") : target.parent_path();
}

// Writes all of `contents` to `fd` and flushes it to the disk; false (errno set) on failure.
bool write_and_sync(int fd, std::string_view contents) {
  for (std::size_t written = 0; written < contents.size();) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  return ::fsync(fd) == 0;
}

// Removes temporaries of `target` left by writers that no longer run (killed in
// the middle of a save): "<name>.tmp-<pid>-<n>" whose pid is gone. Those of live
// processes, and anything that does not parse, are left alone.
void remove_stale_temporaries(const fs::path& target) {
  const std::string prefix = target.filename().string() + std::string(kTemporaryTag);
  std::error_code error;
  for (fs::directory_iterator it(folder_of(target), error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    long pid = 0;
    const char* digits = name.data() + prefix.size();
    const auto [rest, parsed] = std::from_chars(digits, name.data() + name.size(), pid);
    if (parsed != std::errc() || rest == digits || *rest != '-' || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view contents, const char* op) {
  const fs::path target(path);
  remove_stale_temporaries(target);
  // Same folder, so the rename stays on one file system; pid and a counter keep
  // concurrent writers (other processes, other threads) apart.
  static std::atomic<std::uint64_t> counter{0};
  const fs::path temporary =
      target.parent_path() / (target.filename().string() + std::string(kTemporaryTag) + std::to_string(getpid()) + "-" +
                              std::to_string(counter.fetch_add(1)));
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail<IOError>("{}: cannot create '{}': {}", op, temporary.string(), std::strerror(errno));
  const bool written = write_and_sync(fd, contents);
  const std::string reason = written ? "" : std::strerror(errno);
  if (::close(fd) != 0 || !written) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    fail<IOError>("{}: writing '{}' failed: {}", op, temporary.string(), written ? std::strerror(errno) : reason);
  }
  std::error_code error;
  fs::rename(temporary, target, error);
  if (error) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    fail<IOError>("{}: cannot move the finished file to '{}': {}", op, path, error.message());
  }
  // The rename itself reaches the disk when the folder is synced.
  const int folder_fd = ::open(folder_of(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder_fd >= 0) {
    ::fsync(folder_fd);
    ::close(folder_fd);
  }
}

std::vector<std::uint8_t> read_file(const std::string& path, const char* op) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) fail<IOError>("{}: cannot read '{}': {}", op, path, error.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IOError>("{}: cannot open '{}': {}", op, path, std::strerror(errno));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));  // backed by the file's own size
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size)
    fail<IOError>("{}: reading '{}' failed after {} of {} bytes", op, path, in.gcount(), size);
  return bytes;
}

}  // namespace xgrad::detail
