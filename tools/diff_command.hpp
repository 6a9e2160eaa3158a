#pragma once

#include <iosfwd>

namespace mutex_edge::tools {

/// `mutex-edge diff OLD.json NEW.json [--json]`: what changing the configuration from OLD to NEW
/// (both in the list endpoint's shape) does to assignments, group by group: the exact share of
/// the bucketing space whose slot changes (the expected share when the salt or the bucketing key
/// changes), individuals and cohorts added, removed and moved, groups added, removed and
/// archived. Returns the exit code: 0 when no user's slot changes, 1 when some do, 2 on bad
/// input (a bad argument, an unreadable file, an invalid group).
int run_diff_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace mutex_edge::tools
