#include "wire/sdk_api.hpp"

#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include <zlib.h>

#include "common/text.hpp"
#include "eval/user.hpp"

namespace mutex_edge::wire {
namespace {

constexpr std::string_view kFlagType = "mutual-exclusion-group";

/// The start of the flag's distribution range after cumulative percentage `c`, as Amplitude
/// writes a flag's ranges (each ends where eval::slot_end says).
std::uint64_t range_start(int c) {
  return static_cast<std::uint64_t>(c) * (eval::kDistributionEnd - 1) / 100;
}

std::string_view mode_of(std::string_view mode) {
  return mode.empty() ? std::string_view{"remote"} : mode;
}

void write_selector(common::JsonWriter& w, std::string_view bucketing_key) {
  w.begin_array().value("context").value("user");
  if (bucketing_key.starts_with("gp:")) {
    w.value("user_properties").value(bucketing_key.substr(3));
  } else if (eval::is_top_level_user_field(bucketing_key)) {
    w.value(bucketing_key);
  } else {
    w.value("user_properties").value(bucketing_key);
  }
  w.end_array();
}

void write_condition(common::JsonWriter& w, std::string_view field, std::string_view op,
                     const std::vector<std::string>& values) {
  w.begin_array().begin_object();  // one AND list of one condition
  w.key("selector").begin_array().value("context").value("user").value(field).end_array();
  w.key("op").value(op);
  w.key("values").begin_array();
  for (const std::string& value : values) {
    w.value(value);
  }
  w.end_array().end_object().end_array();
}

void write_flag_metadata(common::JsonWriter& w, std::string_view mode) {
  w.key("flagType").value(kFlagType);
  w.key("deployed").value(true);
  w.key("evaluationMode").value(mode_of(mode));
}

std::string segment_name(int index) {
  std::string name = "slot-";
  name += std::to_string(index);
  name += " inclusions";
  return name;
}

/// Writes a JSON array of integers ("[7002,-3]", as GroupEntry keeps experiment ids) as the
/// same numbers in strings ("[\"7002\",\"-3\"]"), Amplitude's payload.flagIds.
void write_ids_as_strings(common::JsonWriter& w, std::string_view ids) {
  w.value_in_place(ids.size() * 3 + 2, [&](char* at) {
    bool in_number = false;
    for (const char c : ids) {
      const bool digit = (c >= '0' && c <= '9') || c == '-';
      if (digit != in_number) {
        *at++ = '"';
        in_number = digit;
      }
      *at++ = c;
    }
    return at;
  });
}

}  // namespace

void write_sdk_flag(common::JsonWriter& w, const config::GroupConfig& group) {
  w.begin_object();
  w.key("key").value(group.key);
  w.key("metadata").begin_object();
  write_flag_metadata(w, group.evaluation_mode);
  w.end_object();

  w.key("variants").begin_object();
  w.key("off").begin_object().key("key").value("off");
  w.key("metadata").begin_object().key("default").value(true).end_object().end_object();
  for (const config::SlotConfig& slot : group.slots) {
    w.key(slot.variant_key).begin_object();
    w.key("key").value(slot.variant_key).key("value").value(slot.variant_key);
    w.key("payload").begin_object().key("flagIds").begin_array();
    for (const std::int64_t id : slot.experiments) {
      w.value(std::to_string(id));
    }
    w.end_array().end_object().end_object();
  }
  w.key("unallocated").begin_object();
  w.key("key").value("unallocated").key("value").value("unallocated").end_object();
  w.end_object();

  w.key("segments").begin_array();
  for (const config::SlotConfig& slot : group.slots) {
    if (slot.individuals.empty() && slot.cohorts.empty()) {
      continue;
    }
    w.begin_object();
    w.key("metadata").begin_object().key("segmentName").value(segment_name(slot.index));
    w.end_object();
    w.key("variant").value(slot.variant_key);
    w.key("conditions").begin_array();  // OR of the lists below
    if (!slot.individuals.empty()) {
      write_condition(w, "user_id", "is", slot.individuals);
      write_condition(w, "device_id", "is", slot.individuals);
    }
    if (!slot.cohorts.empty()) {
      write_condition(w, "cohort_ids", "set contains any", slot.cohorts);
    }
    w.end_array().end_object();
  }
  w.begin_object();
  w.key("metadata").begin_object().key("segmentName").value(kAllOtherUsers).end_object();
  if (group.slots.size() == 1 && group.slots.front().percentage == 100) {
    w.key("variant").value(group.slots.front().variant_key);
  } else {
    w.key("bucket").begin_object();
    w.key("selector");
    write_selector(w, group.bucketing_key);
    w.key("salt").value(group.bucketing_salt);
    w.key("allocations").begin_array().begin_object();
    w.key("range").raw("[0,100]");
    w.key("distributions").begin_array();
    int cumulative = 0;
    for (const config::SlotConfig& slot : group.slots) {
      const std::uint64_t start = cumulative == 0 ? 0 : range_start(cumulative);
      cumulative += slot.percentage;
      w.begin_object().key("variant").value(slot.variant_key);
      w.key("range")
          .begin_array()
          .value(start)
          .value(eval::slot_end(static_cast<std::uint64_t>(cumulative)))
          .end_array();
      w.end_object();
    }
    if (cumulative < 100) {
      w.begin_object().key("variant").value("unallocated");
      w.key("range").begin_array().value(range_start(cumulative));
      w.value(eval::kDistributionEnd).end_array().end_object();
    }
    w.end_array().end_object().end_array();  // distributions, the allocation, allocations
    w.end_object();                          // bucket
    w.key("variant").value("off");
  }
  w.end_object().end_array();  // the last segment, segments
  w.end_object();
}

namespace {

/// Raw deflate of pieces, each ending on a byte boundary with no final block (Z_SYNC_FLUSH),
/// so that compressed pieces can be joined in any order into one stream, as pigz does.
class Deflater {
 public:
  Deflater() {
    // Raw deflate (negative window bits): the gzip header and trailer are written by hand.
    if (deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      throw std::runtime_error("zlib: deflateInit2 failed");
    }
  }
  ~Deflater() { deflateEnd(&stream_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  /// Appends the compressed `data` to `out`.
  void piece(std::string_view data, std::string& out) {
    deflateReset(&stream_);
    const std::size_t at = out.size();
    out.resize(at + deflateBound(&stream_, static_cast<uLong>(data.size())) + 16);
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream_.avail_in = static_cast<uInt>(data.size());
    stream_.next_out = reinterpret_cast<Bytef*>(out.data() + at);
    stream_.avail_out = static_cast<uInt>(out.size() - at);
    if (deflate(&stream_, Z_SYNC_FLUSH) != Z_OK || stream_.avail_in != 0) {
      throw std::runtime_error("zlib: deflate failed");
    }
    out.resize(out.size() - stream_.avail_out);
  }

 private:
  z_stream stream_{};
};

std::uint32_t crc_of(std::string_view data) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

void put_le32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    out += static_cast<char>((value >> (8 * i)) & 0xff);
  }
}

}  // namespace

namespace {

/// Runs end after a group whose key hash is 0 modulo this (and at kMaxRunGroups): about 16 flags
/// a run, well past deflate's 32 KiB window, so a run compresses about as well as one stream.
constexpr std::uint64_t kRunBoundary = 16;
constexpr std::uint32_t kMaxRunGroups = 64;

bool ends_run(const cache::GroupEntry& group, std::uint32_t count) {
  return count >= kMaxRunGroups || std::hash<std::string_view>{}(group.key()) % kRunBoundary == 0;
}

/// The JSON array of every group's flag, copying the flags of the groups `before` maps to their
/// index in `previous`.
void write_bodies(const cache::Snapshot& snapshot,
                  const std::unordered_map<const cache::GroupEntry*, std::size_t>& before,
                  const SdkFlags* previous, std::string& body, std::vector<SdkFlags::Span>& spans) {
  body += '[';
  spans.reserve(snapshot.size());
  for (std::size_t i = 0; i < snapshot.size(); ++i) {
    const cache::GroupEntry& group = snapshot.group(i);
    if (i != 0) {
      body += ',';
    }
    SdkFlags::Span span;
    span.offset = static_cast<std::uint32_t>(body.size());
    if (const auto it = before.find(&group); it != before.end()) {
      const SdkFlags::Span old = previous->spans[it->second];
      body.append(*previous->body, old.offset, old.length);
    } else {
      common::JsonWriter one{body};
      write_sdk_flag(one, group.to_config());
    }
    span.length = static_cast<std::uint32_t>(body.size() - span.offset);
    spans.push_back(span);
    if (body.size() > std::numeric_limits<std::uint32_t>::max() - 2) {
      throw std::length_error("the SDK flags of this configuration exceed 4 GiB");
    }
  }
  body += ']';
}

/// The gzip stream of `flags->body`, run by run; a run whose groups are the same entries, in the
/// same order, as a run of `previous` (of `previous_snapshot`) is copied compressed.
std::string gzip_runs(const cache::Snapshot& snapshot, const cache::Snapshot* previous_snapshot,
                      const SdkFlags* previous, SdkFlags& flags) {
  std::unordered_map<const cache::GroupEntry*, std::size_t> runs_before;  // by first group
  if (previous != nullptr && previous->gzip != nullptr && previous_snapshot != nullptr) {
    for (std::size_t r = 0; r < previous->runs.size(); ++r) {
      runs_before.emplace(&previous_snapshot->group(previous->runs[r].first), r);
    }
  }
  const std::string& body = *flags.body;
  Deflater deflater;
  std::string zipped;
  zipped.reserve(previous != nullptr && previous->gzip ? previous->gzip->size() + 4096 : 4096);
  // The gzip header: magic, deflate, no flags, no time, no extra flags, unknown OS.
  zipped.append("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  deflater.piece("[", zipped);
  std::uint32_t crc = crc_of("[");
  std::uint32_t first = 0;
  for (std::uint32_t i = 0; i < snapshot.size(); ++i) {
    if (!ends_run(snapshot.group(i), i - first + 1) && i + 1 != snapshot.size()) {
      continue;
    }
    SdkFlags::Run run{first, i - first + 1, 0, 0, 0};
    const std::uint32_t from = flags.spans[first].offset;
    const std::uint32_t to = flags.spans[i].offset + flags.spans[i].length;
    // The run's flags and the commas between them; the comma before it is its own piece.
    const std::string_view text = std::string_view{body}.substr(from, to - from);
    if (first != 0) {
      static const std::string kComma = [] {
        std::string out;
        Deflater{}.piece(",", out);
        return out;
      }();
      zipped += kComma;
      crc = static_cast<std::uint32_t>(crc32_combine(crc, crc_of(","), 1));
    }
    run.z_offset = static_cast<std::uint32_t>(zipped.size());
    const SdkFlags::Run* old = nullptr;
    if (const auto it = runs_before.find(&snapshot.group(first)); it != runs_before.end()) {
      old = &previous->runs[it->second];
      for (std::uint32_t k = 0; old != nullptr && k < run.count; ++k) {
        if (old->count != run.count ||
            &previous_snapshot->group(old->first + k) != &snapshot.group(first + k)) {
          old = nullptr;
        }
      }
    }
    if (old != nullptr) {
      zipped.append(*previous->gzip, old->z_offset, old->z_length);
      run.crc = old->crc;
    } else {
      deflater.piece(text, zipped);
      run.crc = crc_of(text);
    }
    run.z_length = static_cast<std::uint32_t>(zipped.size() - run.z_offset);
    crc =
        static_cast<std::uint32_t>(crc32_combine(crc, run.crc, static_cast<z_off_t>(text.size())));
    flags.runs.push_back(run);
    if (zipped.size() > std::numeric_limits<std::uint32_t>::max() - 32) {
      throw std::length_error("the SDK flags of this configuration exceed 4 GiB compressed");
    }
    first = i + 1;
  }
  deflater.piece("]", zipped);
  crc = static_cast<std::uint32_t>(crc32_combine(crc, crc_of("]"), 1));
  // The last block: an empty stored block with BFINAL set, then CRC-32 and size (RFC 1952).
  zipped.append("\x01\x00\x00\xff\xff", 5);
  put_le32(zipped, crc);
  put_le32(zipped, static_cast<std::uint32_t>(body.size()));
  return zipped;
}

}  // namespace

std::shared_ptr<const SdkFlags> build_sdk_flags(const cache::Snapshot& snapshot,
                                                const cache::Snapshot* previous_snapshot,
                                                const SdkFlags* previous) {
  auto flags = std::make_shared<SdkFlags>();
  std::unordered_map<const cache::GroupEntry*, std::size_t> before;
  if (previous != nullptr && previous_snapshot != nullptr &&
      previous->spans.size() == previous_snapshot->size()) {
    before.reserve(previous_snapshot->size());
    for (std::size_t i = 0; i < previous_snapshot->size(); ++i) {
      before.emplace(&previous_snapshot->group(i), i);
    }
  } else {
    previous = nullptr;
  }
  std::string body;
  body.reserve(previous != nullptr ? previous->body->size() + 4096 : 4096);
  write_bodies(snapshot, before, previous, body, flags->spans);
  flags->body = std::make_shared<const std::string>(std::move(body));
  if (flags->body->size() >= kSdkGzipMinBytes) {
    flags->gzip = std::make_shared<const std::string>(
        gzip_runs(snapshot, previous != nullptr ? previous_snapshot : nullptr, previous, *flags));
  }
  flags->etag = common::content_etag(snapshot.content_hash(), "flags");
  return flags;
}

void write_sdk_variant(common::JsonWriter& w, const cache::GroupEntry& group,
                       const eval::Assignment& assignment) {
  w.key(group.key()).begin_object();
  std::string inclusions;
  std::string_view segment = kAllOtherUsers;
  if (assignment.slot != eval::kNoSlot) {
    const cache::GroupEntry::Slot slot = group.slot(static_cast<std::size_t>(assignment.slot));
    w.key("key").value(slot.variant_key).key("value").value(slot.variant_key);
    w.key("payload").begin_object().key("flagIds");
    write_ids_as_strings(w, slot.experiments);
    w.end_object();
    if (assignment.reason == eval::Reason::kIndividual ||
        assignment.reason == eval::Reason::kCohort) {
      inclusions = segment_name(slot.index);
      segment = inclusions;
    }
  } else if (assignment.reason == eval::Reason::kUnallocated) {
    w.key("key").value("unallocated").key("value").value("unallocated");
  } else {
    w.key("key").value("off");
  }
  w.key("metadata").begin_object();
  write_flag_metadata(w, group.evaluation_mode());
  w.key("segmentName").value(segment);
  if (assignment.slot == eval::kNoSlot && assignment.reason != eval::Reason::kUnallocated) {
    w.key("default").value(true);
  }
  w.end_object().end_object();
}

bool accepts_gzip(std::string_view accept_encoding) noexcept {
  // RFC 9110 section 12.5.3: gzip named explicitly decides by its weight; otherwise "*" does.
  // A weight is a `q` parameter, wherever it is among the parameters.
  std::optional<bool> gzip;
  std::optional<bool> any;
  common::for_each_item(accept_encoding, ',', [&](std::string_view item) {
    const std::size_t semicolon = item.find(';');
    const std::string_view coding = common::trim(item.substr(0, semicolon));
    const bool is_gzip = common::iequals(coding, "gzip");
    if (!is_gzip && coding != "*") {
      return;
    }
    bool zero = false;  // "q=0", "q=0.0", "q=0.000": refused
    if (semicolon != std::string_view::npos) {
      common::for_each_item(item.substr(semicolon + 1), ';', [&](std::string_view param) {
        const std::size_t equals = param.find('=');
        if (equals != std::string_view::npos &&
            common::iequals(common::trim(param.substr(0, equals)), "q")) {
          const std::string_view q = common::trim(param.substr(equals + 1));
          zero = !q.empty() && q.find_first_not_of("0.") == std::string_view::npos;
        }
      });
    }
    std::optional<bool>& weight = is_gzip ? gzip : any;
    if (!weight) {
      weight = !zero;  // the first mention of a coding counts
    }
  });
  return gzip ? *gzip : any.value_or(false);
}

}  // namespace mutex_edge::wire
