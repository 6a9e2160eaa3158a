#pragma once

#include <cstddef>
#include <iosfwd>

namespace mutex_edge::tools {

/// `mutex-edge audit --config-file groups.json [--mutex KEY]... [--json]`: reads observed
/// exposures as JSON lines on `in` ({"user": {...}, "mutex": "key", "slot": "slot-2" | null}, or
/// Amplitude's exposure and assignment events) and reports, per group: lines, distinct users,
/// mismatches with the engine (with examples and the engine's reason), crossovers (a user seen
/// in two slots), and a sample ratio mismatch test of the distinct users per slot against the
/// configured shares (chi-squared; SRM at p < 0.001). Returns the exit code: 0 when every line
/// agrees with the engine and no group shows an SRM, 1 otherwise, 2 on a bad flag or an
/// unusable config file. Bad lines are counted and reported, never fatal.
int run_audit_command(int argc, const char* const* argv, std::istream& in, std::ostream& out,
                      std::ostream& err);

/// Bytes the audit's table of distinct users takes per slot: one 64-bit word (a 56-bit hash of
/// the user's bucketing identity and 8 bits of state). The table is kept between 3/8 and 3/4
/// full, so a distinct user of a group costs 10.7 to 21.3 bytes.
inline constexpr std::size_t kAuditBytesPerSlot = 8;

}  // namespace mutex_edge::tools
