#pragma once

#include <ostream>

namespace mutex_edge::tools {

/// `mutex-edge probe URL [--timeout DURATION]`: GETs URL once; exits 0 on a 2xx answer, 1
/// otherwise (saying why on `err`), 2 on bad arguments. A health check for images without curl.
int run_probe_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace mutex_edge::tools
