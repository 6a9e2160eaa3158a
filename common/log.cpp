#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/json_writer.hpp"

namespace mutex_edge::common {

void setup_logging(std::string_view level, std::string_view name) {
  auto logger = spdlog::stderr_logger_mt(std::string{name});
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string{level}));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

std::string quote(std::string_view value) {
  bool bare = !value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      bare = false;
      break;
    }
  }
  if (bare) {
    return std::string{value};
  }
  std::string out;
  JsonWriter::append_string(out, value);
  return out;
}

}  // namespace mutex_edge::common
