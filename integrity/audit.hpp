#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <vector>

#include "cache/snapshot.hpp"

namespace mutex_edge::integrity {

/// Bytes the audit's table of distinct users takes per slot: one 64-bit word (a 56-bit hash of
/// the user's bucketing identity and 8 bits of state). The table is kept between 3/8 and 3/4
/// full, so a distinct user of a group costs 10.7 to 21.3 bytes.
inline constexpr std::size_t kAuditBytesPerSlot = 8;

/// The audit of observed exposures against a snapshot (`mutex-edge audit`): reads JSON lines
/// ({"user": {...}, "mutex": "key", "slot": "slot-2" | null}, or Amplitude's exposure and
/// assignment events) and reports, per selected group: lines, distinct users, mismatches with
/// the engine (with examples and the engine's reason), crossovers (a user seen in two slots),
/// and a sample ratio mismatch test of the distinct users per slot against the configured
/// shares (chi-squared; SRM at p < 0.001). Bad lines are counted and reported, never fatal.
class Auditor {
 public:
  /// `selected[i]`: group i of `snapshot` is audited (`snapshot` outlives the auditor).
  Auditor(const cache::Snapshot& snapshot, std::vector<bool> selected);
  ~Auditor();
  Auditor(const Auditor&) = delete;
  Auditor& operator=(const Auditor&) = delete;

  /// Reads every line of `in`.
  void run(std::istream& in);
  /// Writes the report (text, or one JSON object); returns 0 when every line agrees with the
  /// engine and no group shows an SRM, else 1.
  [[nodiscard]] int report(std::ostream& out, bool json) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mutex_edge::integrity
