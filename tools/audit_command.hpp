#pragma once

#include <iosfwd>

namespace mutex_edge::tools {

/// `mutex-edge audit --config-file groups.json [--mutex KEY]... [--json]`: integrity::Auditor over
/// the exposures on `in`. Returns the exit code: 0 when every line agrees with the engine and no
/// group shows an SRM, 1 otherwise, 2 on a bad flag or an unusable config file.
int run_audit_command(int argc, const char* const* argv, std::istream& in, std::ostream& out,
                      std::ostream& err);

}  // namespace mutex_edge::tools
