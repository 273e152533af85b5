#pragma once
// Internal: file writing that never leaves a half-written file behind, and whole-file reads.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xgrad::detail {

/// Writes `contents` to a temporary file beside `path`, then renames it over
/// `path`. On failure the temporary file is removed and IOError names `op`,
/// the path and the reason; an existing file at `path` is left untouched.
/// The data reaches the disk (fsync) before the rename, so after a crash `path`
/// holds the old file or the new one. Temporaries of `path` left by killed
/// writers (their process is gone) are removed first.
void write_file_atomically(const std::string& path, std::string_view contents, const char* op);

/// The whole file at `path`; IOError names `op` and the path when it cannot be read.
std::vector<std::uint8_t> read_file(const std::string& path, const char* op);

}  // namespace xgrad::detail
