#pragma once

#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace mutex_edge::cache {

/// One structured line per event on stderr, logfmt style:
///   2026-01-02T03:04:05.678Z level=info msg="config loaded" version=3 groups=12
/// Messages are written as `msg=... key=value` by the caller; quote() makes a value safe.
void setup_logging(std::string_view level);

/// A logfmt value: bare when it needs no quoting, otherwise quoted with \" \\ \n escaped.
[[nodiscard]] std::string quote(std::string_view value);

}  // namespace mutex_edge::cache
