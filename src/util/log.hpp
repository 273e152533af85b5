#pragma once
// Internal: xgrad's spdlog logger ("xgrad"), created on first use with the level
// from XGRAD_LOG_LEVEL (default warn).

#include <spdlog/spdlog.h>

namespace xgrad::detail {

spdlog::logger& logger();

}  // namespace xgrad::detail
