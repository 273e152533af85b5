#include "util/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <string>

#include "xgrad/error.hpp"
#include "xgrad/log.hpp"

namespace xgrad {

namespace {

spdlog::level::level_enum parse_level(std::string_view name) {
  const auto level = spdlog::level::from_str(std::string(name));
  // from_str maps unknown names to off; accept "off" only when asked for.
  if (level == spdlog::level::off && name != "off")
    throw ValueError("set_log_level: unknown level '" + std::string(name) +
                     "' (expected trace, debug, info, warn, error, critical or off)");
  return level;
}

}  // namespace

namespace detail {

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = [] {
    auto existing = spdlog::get("xgrad");
    auto made = existing ? existing : spdlog::stderr_color_mt("xgrad");
    made->set_level(spdlog::level::warn);
    if (const char* env = std::getenv("XGRAD_LOG_LEVEL")) {
      try {
        made->set_level(parse_level(env));
      } catch (const ValueError& e) {
        made->warn("XGRAD_LOG_LEVEL: {}", e.what());
      }
    }
    return made;
  }();
  return *instance;
}

}  // namespace detail

void set_log_level(std::string_view level) { detail::logger().set_level(parse_level(level)); }

}  // namespace xgrad
