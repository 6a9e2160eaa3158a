#include "cache/snapshot.hpp"

namespace mutex_edge::cache {

std::unique_ptr<const Snapshot> Snapshot::build(const config::ListPage& page, std::uint64_t version,
                                                SnapshotOrigin origin,
                                                std::vector<config::ConfigError>& rejected,
                                                const Snapshot* previous, BuildStats* stats) {
  const std::size_t total = page.groups.size() + page.known.size();
  std::unique_ptr<Snapshot> snapshot{new Snapshot};
  snapshot->version_ = version;
  snapshot->origin_ = std::move(origin);
  snapshot->entries_.reserve(total);
  snapshot->by_key_.reserve(total);
  snapshot->by_id_.reserve(total);
  snapshot->by_hash_.reserve(total);
  snapshot->by_digest_.reserve(total);
  BuildStats counted;
  common::Hasher whole;
  std::size_t next_known = 0;
  std::size_t next_decoded = 0;
  for (std::size_t position = 0; position < total; ++position) {
    EntryPtr entry;
    common::Digest digest;  // of the group's JSON (zero when the page has none)
    bool fresh = false;
    bool known = false;
    if (next_known < page.known.size() && page.known[next_known].position == position) {
      // Recognised by digest: the previous snapshot's entry, never decoded.
      digest = page.known[next_known++].digest;
      if (previous != nullptr) {
        if (auto it = previous->by_digest_.find(digest); it != previous->by_digest_.end()) {
          entry = previous->entries_[it->second];
        }
      }
      if (!entry) {
        rejected.push_back({config::Problem::kBadValue, config::describe_group({}, 0, {}), "",
                            "was taken as known, but the served snapshot does not hold it"});
        continue;
      }
      known = true;
    } else {
      const config::GroupConfig* group = &page.groups[next_decoded];
      if (next_decoded < page.digests.size()) {
        digest = page.digests[next_decoded];
      }
      ++next_decoded;
      const std::uint64_t hash = cache::content_hash(*group);
      if (previous != nullptr) {
        const auto [first, last] = previous->by_hash_.equal_range(hash);
        for (auto it = first; it != last && !entry; ++it) {
          const EntryPtr& candidate = previous->entries_[it->second];
          // Equal content in other JSON (reformatted, reordered, an ignored field changed).
          if (candidate->same_content(*group)) {
            entry = candidate;
          }
        }
      }
      if (!entry) {
        entry = std::make_shared<const GroupEntry>(*group, hash);
        fresh = true;
      }
    }
    // Named by id and key: `position` leaves out the groups the parser rejected, so it is not
    // the group's place in the document.
    auto label = [&] { return config::describe_group({}, entry->id(), entry->key()); };
    if (auto it = snapshot->by_key_.find(entry->key()); it != snapshot->by_key_.end()) {
      rejected.push_back({config::Problem::kDuplicate, label(), "key",
                          "is already used by group id " +
                              std::to_string(snapshot->entries_[it->second]->id()) +
                              "; keys must be unique, the first group keeps it"});
      continue;
    }
    if (auto it = snapshot->by_id_.find(entry->id()); it != snapshot->by_id_.end()) {
      rejected.push_back({config::Problem::kDuplicate, label(), "id",
                          "is already used by group key \"" +
                              std::string{snapshot->entries_[it->second]->key()} +
                              "\"; ids must be unique, the first group keeps it"});
      continue;
    }
    ++(fresh ? counted.compiled : counted.reused);
    counted.known += known ? 1 : 0;
    const std::size_t index = snapshot->entries_.size();
    snapshot->by_key_.emplace(entry->key(), index);
    snapshot->by_id_.emplace(entry->id(), index);
    snapshot->by_hash_.emplace(entry->hash(), index);
    if (digest != common::Digest{}) {
      snapshot->by_digest_.emplace(digest, index);  // this JSON is known from now on
    }
    whole.add(entry->hash());
    snapshot->entries_.push_back(std::move(entry));
  }
  whole.add(snapshot->entries_.size());
  snapshot->content_hash_ = whole.digest().a;
  if (stats != nullptr) {
    *stats = counted;
  }
  return snapshot;
}

std::unique_ptr<const Snapshot> Snapshot::build(std::vector<config::GroupConfig> groups,
                                                std::uint64_t version, SnapshotOrigin origin,
                                                std::vector<config::ConfigError>& rejected,
                                                const Snapshot* previous, BuildStats* stats) {
  config::ListPage page;
  page.groups = std::move(groups);
  return build(page, version, std::move(origin), rejected, previous, stats);
}

std::optional<std::size_t> Snapshot::find_key(std::string_view key) const noexcept {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? std::nullopt : std::optional{it->second};
}

std::optional<std::size_t> Snapshot::find_id(std::int64_t id) const noexcept {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? std::nullopt : std::optional{it->second};
}

void Snapshot::select(std::optional<std::span<const std::string_view>> keys,
                      std::vector<std::size_t>& groups,
                      std::vector<std::string_view>& unknown) const {
  groups.clear();
  unknown.clear();
  if (!keys) {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      groups.push_back(i);
    }
    return;
  }
  for (std::string_view key : *keys) {
    if (auto i = find_key(key)) {
      groups.push_back(*i);
    } else {
      unknown.push_back(key);
    }
  }
}

std::vector<config::GroupConfig> Snapshot::configs() const {
  std::vector<config::GroupConfig> out;
  out.reserve(entries_.size());
  for (const EntryPtr& entry : entries_) {
    out.push_back(entry->to_config());
  }
  return out;
}

std::size_t Snapshot::memory_bytes() const noexcept {
  std::size_t bytes = entries_.capacity() * sizeof(EntryPtr);
  for (const EntryPtr& entry : entries_) {
    bytes += entry->memory_bytes();
  }
  // The indexes: a node and a bucket per group each, roughly.
  bytes += by_key_.bucket_count() * (sizeof(std::string_view) + sizeof(std::size_t) + 1) +
           (by_id_.size() + by_hash_.size()) * 48;
  return bytes;
}

}  // namespace mutex_edge::cache
