#pragma once
// Internal: file writing that never leaves a half-written file behind.

#include <string>
#include <string_view>

namespace xgrad::detail {

/// Writes `contents` to a temporary file beside `path`, then renames it over
/// `path`. On failure the temporary file is removed and IOError names `op`,
/// the path and the reason; an existing file at `path` is left untouched.
void write_file_atomically(const std::string& path, std::string_view contents, const char* op);

}  // namespace xgrad::detail
