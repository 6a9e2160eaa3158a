#include "common/time.hpp"

#include <cstdio>
#include <ctime>

namespace mutex_edge::common {

std::string iso8601(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) {
    return {};
  }
  const std::int64_t ms = unix_ms(t);
  const auto seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::int64_t unix_ms(std::chrono::system_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace mutex_edge::common
