#pragma once

#include <iosfwd>

namespace mutex_edge::tools {

/// `mutex-edge assign --config-file groups.json [--mutex key]... [--explain]`: reads users as
/// JSON lines on `in` and writes one assignment object per line to `out` (an error object for a
/// line that is not a valid user). Returns the process exit code: 0, 1 when the configuration
/// cannot be used, 2 on bad flags, 3 when some input line was rejected.
int run_assign_command(int argc, const char* const* argv, std::istream& in, std::ostream& out,
                       std::ostream& err);

}  // namespace mutex_edge::tools
