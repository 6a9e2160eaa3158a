#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace mutex_edge::http {

/// The outcome of one GET by probe(): the status, or what went wrong.
struct ProbeResult {
  int status = 0;     // 0 when no answer came
  std::string error;  // empty when an answer came
};

/// GETs `url` (http://host[:port]/path) once, within `timeout` for everything (resolving,
/// connecting, writing, reading at most 64 KiB of answer). For health checks in images that have
/// no curl.
[[nodiscard]] ProbeResult probe(std::string_view url, std::chrono::milliseconds timeout);

}  // namespace mutex_edge::http
