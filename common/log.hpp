#pragma once

#include <string>
#include <string_view>

namespace mutex_edge::common {

/// The levels --log-level takes, lowest first.
inline constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};

/// One structured line per event on stderr, logfmt style:
///   2026-01-02T03:04:05.678Z level=info msg="config loaded" version=3 groups=12
/// Messages are written as `msg=... key=value` by the caller; quote() makes a value safe.
/// `level` is one of kLogLevels; `name` names the logger (the binary).
void setup_logging(std::string_view level, std::string_view name);

/// A logfmt value: bare when it needs no quoting, otherwise a quoted JSON string (so quotes,
/// backslashes and control characters are escaped as JSON escapes them).
[[nodiscard]] std::string quote(std::string_view value);

}  // namespace mutex_edge::common
