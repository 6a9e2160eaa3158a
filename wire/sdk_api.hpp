#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/snapshot.hpp"
#include "common/json_writer.hpp"
#include "config/model.hpp"
#include "eval/group.hpp"

namespace mutex_edge::wire {

/// Amplitude's SDK representation of the served groups: what GET /sdk/v2/flags answers, built
/// once per snapshot on the thread that publishes it, never per request.
struct SdkFlags {
  std::shared_ptr<const std::string> body;  // the JSON array, one flag per group in order
  std::shared_ptr<const std::string> gzip;  // `body` gzip-compressed, or null when it is small
  std::string etag;                         // "\"<content hash>-flags\""
  /// Where group i's flag lies in `body`, so that the next snapshot copies the flags of the groups
  /// it shares with this one instead of writing them again.
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
  };
  std::vector<Span> spans;
  /// The runs of groups `gzip` compresses one by one, each deflated on its own (byte-aligned,
  /// with its CRC-32 kept): a run ends after a group whose key hashes to a boundary, so that an
  /// edit, an insertion or a removal changes the runs around it only, and the next snapshot
  /// copies the compressed runs whose groups it shares unchanged (docs/performance.md).
  struct Run {
    std::uint32_t first = 0;  // its first group
    std::uint32_t count = 0;
    std::uint32_t z_offset = 0;
    std::uint32_t z_length = 0;
    std::uint32_t crc = 0;
  };
  std::vector<Run> runs;
};

/// Bodies smaller than this are not compressed: gzip would save less than it costs.
inline constexpr std::size_t kSdkGzipMinBytes = 1024;

/// Builds the flags of `snapshot`. When `previous` holds the flags of `previous_snapshot`, the
/// groups whose entries the two snapshots share are copied from it.
[[nodiscard]] std::shared_ptr<const SdkFlags> build_sdk_flags(
    const cache::Snapshot& snapshot, const cache::Snapshot* previous_snapshot = nullptr,
    const SdkFlags* previous = nullptr);

/// Writes one group as the flag Amplitude's evaluation engine evaluates for a mutual exclusion
/// group (design.md section 2): metadata (flagType "mutual-exclusion-group", deployed,
/// evaluationMode), the variants off (default), slot-N (payload.flagIds: the slot's experiment
/// ids as strings) and unallocated, the inclusion segments in slot order, then "All Other Users".
void write_sdk_flag(common::JsonWriter& writer, const config::GroupConfig& group);

/// The segment names of the flags above: an inclusion segment's (slot-N's individuals and
/// cohorts), and the last one's.
inline constexpr std::string_view kAllOtherUsers = "All Other Users";

/// Writes the engine's result for one group and one assignment as Amplitude's remote evaluation
/// answers it: `"<key>": {"key": "slot-2", "value": "slot-2", "payload": {"flagIds": [...]},
/// "metadata": {...}}` (the variant off for no slot, unallocated for the unallocated share),
/// the metadata merged as the engine merges it (the flag's, the segment's, the variant's).
void write_sdk_variant(common::JsonWriter& writer, const cache::GroupEntry& group,
                       const eval::Assignment& assignment);

/// True when an Accept-Encoding value accepts gzip: "gzip" with a q above 0, or,
/// when gzip is not named, "*" with a q above 0. An explicit "gzip;q=0" refuses it whatever "*"
/// says (RFC 9110, section 12.5.3).
[[nodiscard]] bool accepts_gzip(std::string_view accept_encoding) noexcept;

}  // namespace mutex_edge::wire
