#include "cache/group_entry.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "common/json_writer.hpp"

namespace mutex_edge::cache {
namespace {

/// The most characters of one id and its comma in ids_json.
constexpr std::size_t kMaxIdChars = 21;

/// `ids` as a JSON array, "[1,2,3]": kept so, an answer copies it instead of formatting numbers.
std::string ids_json(std::span<const std::int64_t> ids) {
  std::string out(2 + kMaxIdChars * ids.size(), '\0');
  char* at = out.data();
  *at++ = '[';
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) {
      *at++ = ',';
    }
    at = std::to_chars(at, at + kMaxIdChars, ids[i]).ptr;
  }
  *at++ = ']';
  out.resize(static_cast<std::size_t>(at - out.data()));
  return out;
}

/// The ids of an array ids_json wrote.
std::vector<std::int64_t> parse_ids(std::string_view json) {
  std::vector<std::int64_t> ids;
  const char* at = json.data() + 1;                       // after '['
  const char* const end = json.data() + json.size() - 1;  // at ']'
  while (at < end) {
    std::int64_t id = 0;
    at = std::from_chars(at, end, id).ptr + 1;  // past the ',' (or the end)
    ids.push_back(id);
  }
  return ids;
}

eval::CompiledGroup compile(const config::GroupConfig& group) {
  std::vector<eval::SlotDef> slots;
  slots.reserve(group.slots.size());
  for (const config::SlotConfig& slot : group.slots) {
    slots.push_back({slot.index, slot.percentage, slot.individuals, slot.cohorts});
  }
  return eval::CompiledGroup::compile({group.bucketing_key, group.bucketing_salt, slots});
}

template <typename List>
bool same_list(const List& config, const eval::InclusionSet& set, std::size_t pos) {
  if (config.size() != set.count(pos)) {
    return false;
  }
  for (std::size_t i = 0; i < config.size(); ++i) {
    if (config[i] != set.at(pos, i)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::uint64_t content_hash(const config::GroupConfig& group) noexcept {
  common::Hasher h;
  h.add(static_cast<std::uint64_t>(group.id));
  h.add(static_cast<std::uint64_t>(group.project_id));
  h.add(group.name);
  h.add(group.key);
  if (group.description) {
    h.add(*group.description);
  } else {
    h.add(std::numeric_limits<std::uint64_t>::max());  // a length no string has: null
  }
  for (const std::string* s :
       {&group.evaluation_mode, &group.bucketing_key, &group.bucketing_salt}) {
    h.add(*s);
  }
  h.add(group.slots.size());
  for (const config::SlotConfig& slot : group.slots) {
    h.add(static_cast<std::uint64_t>(slot.index));
    h.add(static_cast<std::uint64_t>(slot.percentage));
    h.add(slot.name);
    h.add(slot.variant_key);
    for (const auto* ids : {&slot.experiments, &slot.holdouts}) {
      h.add(ids->size());
      for (std::int64_t id : *ids) {
        h.add(static_cast<std::uint64_t>(id));
      }
    }
    for (const auto* strings : {&slot.individuals, &slot.cohorts}) {
      h.add(strings->size());
      for (const std::string& s : *strings) {
        h.add(s);
      }
    }
  }
  return h.digest().a;
}

GroupEntry::Span GroupEntry::store(std::string_view text) {
  if (text_.size() + text.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument("a group's strings are too long");
  }
  const Span span{static_cast<std::uint32_t>(text_.size()),
                  static_cast<std::uint32_t>(text.size())};
  text_ += text;
  return span;
}

GroupEntry::GroupEntry(const config::GroupConfig& group, std::uint64_t hash)
    : hash_{hash}, id_{group.id}, project_id_{group.project_id}, compiled_{compile(group)} {
  std::size_t bytes =
      group.key.size() + group.name.size() + (group.description ? group.description->size() : 0) +
      group.evaluation_mode.size() + group.bucketing_key.size() + group.bucketing_salt.size();
  for (const config::SlotConfig& slot : group.slots) {
    bytes += slot.name.size() + slot.variant_key.size() + 4 +
             kMaxIdChars * (slot.experiments.size() + slot.holdouts.size());
  }
  text_.reserve(bytes);
  slots_.reserve(group.slots.size());
  key_ = store(group.key);
  name_ = store(group.name);
  has_description_ = group.description.has_value();
  description_ = store(group.description ? std::string_view{*group.description} : "");
  mode_ = store(group.evaluation_mode);
  bucketing_key_ = store(group.bucketing_key);
  salt_ = store(group.bucketing_salt);
  for (const config::SlotConfig& slot : group.slots) {
    const SlotRecord record{slot.index,
                            slot.percentage,
                            store(slot.name),
                            store(slot.variant_key),
                            store(ids_json(slot.experiments)),
                            store(ids_json(slot.holdouts))};
    slots_.push_back(record);
    plain_strings_ = plain_strings_ && common::JsonWriter::plain(slot.variant_key);
    longest_variant_key_ =
        std::max(longest_variant_key_, static_cast<std::uint32_t>(slot.variant_key.size()));
    longest_ids_ = std::max(longest_ids_, record.experiments.length + record.holdouts.length);
  }
  plain_strings_ = plain_strings_ && common::JsonWriter::plain(group.key);
  text_.shrink_to_fit();  // the ids' room was reserved at its most; spans are offsets
}

GroupEntry::Slot GroupEntry::slot(std::size_t pos) const noexcept {
  const SlotRecord& r = slots_[pos];
  return Slot{r.index,         r.percentage, view(r.name), view(r.variant_key), view(r.experiments),
              view(r.holdouts)};
}

config::GroupConfig GroupEntry::to_config() const {
  config::GroupConfig group;
  group.id = id_;
  group.project_id = project_id_;
  group.name = name();
  group.key = key();
  if (has_description_) {
    group.description = std::string{view(description_)};
  }
  group.evaluation_mode = evaluation_mode();
  group.bucketing_key = bucketing_key();
  group.bucketing_salt = bucketing_salt();
  group.slots.reserve(slots_.size());
  for (std::size_t pos = 0; pos < slots_.size(); ++pos) {
    const Slot s = slot(pos);
    config::SlotConfig& out = group.slots.emplace_back();
    out.name = s.name;
    out.index = s.index;
    out.variant_key = s.variant_key;
    out.percentage = s.percentage;
    out.experiments = parse_ids(s.experiments);
    out.holdouts = parse_ids(s.holdouts);
    const eval::InclusionSet& individuals = compiled_.individuals();
    out.individuals.reserve(individuals.count(pos));
    for (std::size_t i = 0; i < individuals.count(pos); ++i) {
      out.individuals.emplace_back(individuals.at(pos, i));
    }
    const eval::InclusionSet& cohorts = compiled_.cohorts();
    out.cohorts.reserve(cohorts.count(pos));
    for (std::size_t i = 0; i < cohorts.count(pos); ++i) {
      out.cohorts.emplace_back(cohorts.at(pos, i));
    }
  }
  return group;
}

bool GroupEntry::same_content(const config::GroupConfig& group) const noexcept {
  if (group.id != id_ || group.project_id != project_id_ || group.key != key() ||
      group.name != name() || group.description.has_value() != has_description_ ||
      (has_description_ && *group.description != view(description_)) ||
      group.evaluation_mode != evaluation_mode() || group.bucketing_key != bucketing_key() ||
      group.bucketing_salt != bucketing_salt() || group.slots.size() != slots_.size()) {
    return false;
  }
  for (std::size_t pos = 0; pos < slots_.size(); ++pos) {
    const config::SlotConfig& c = group.slots[pos];
    const Slot s = slot(pos);
    if (c.index != s.index || c.percentage != s.percentage || c.name != s.name ||
        c.variant_key != s.variant_key || ids_json(c.experiments) != s.experiments ||
        ids_json(c.holdouts) != s.holdouts ||
        !same_list(c.individuals, compiled_.individuals(), pos) ||
        !same_list(c.cohorts, compiled_.cohorts(), pos)) {
      return false;
    }
  }
  return true;
}

std::size_t GroupEntry::memory_bytes() const noexcept {
  return sizeof(*this) + text_.capacity() + slots_.capacity() * sizeof(SlotRecord) +
         compiled_.memory_bytes();
}

}  // namespace mutex_edge::cache
