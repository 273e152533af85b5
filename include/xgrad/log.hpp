#pragma once
/// \file log.hpp
/// xgrad logs through spdlog under the logger name "xgrad". It is quiet by
/// default (warnings and errors only); set the environment variable
/// XGRAD_LOG_LEVEL to trace, debug, info, warn, error or off, or call
/// set_log_level.

#include <string_view>

namespace xgrad {

/// Sets the level of xgrad's logger; throws ValueError for an unknown name.
void set_log_level(std::string_view level);

}  // namespace xgrad
