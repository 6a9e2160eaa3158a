#include "tests/fuzz/snapshots.hpp"

#include <array>
#include <span>
#include <string_view>

#include "common/json_writer.hpp"
#include "config/serialize.hpp"
#include "eval/group.hpp"
#include "eval/user.hpp"
#include "proxy/settings.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace mutex_edge::fuzz {
namespace {

void check_assignment(const cache::GroupEntry& group, const eval::User& user) {
  const eval::Assignment a = group.compiled().assign(user);
  if (a.slot < eval::kNoSlot || a.slot >= static_cast<int>(group.slot_count())) {
    fail("an assignment outside the group's slots", group.key());
  }
}

/// A few users against every group: nobody, everything set, and each group's first individual.
void assign_users(const cache::Snapshot& snapshot) {
  static constexpr std::array<eval::Field, 2> kFields = {eval::Field{"amplitude_id", "1234567890"},
                                                         eval::Field{"country", "NZ"}};
  static constexpr std::array<eval::Field, 2> kProperties = {eval::Field{"plan", "pro"},
                                                             eval::Field{"company_id", "42"}};
  static constexpr std::array<std::string_view, 2> kCohorts = {"c-1", "beta-testers"};
  const eval::User nobody;
  eval::User everything{"u-1", "d-1", kFields, kProperties, true, kCohorts};
  for (std::size_t i = 0; i < snapshot.size(); ++i) {
    const cache::GroupEntry& group = snapshot.group(i);
    check_assignment(group, nobody);
    check_assignment(group, everything);
    const eval::InclusionSet& individuals = group.compiled().individuals();
    for (std::size_t pos = 0; pos < group.slot_count(); ++pos) {
      if (individuals.count(pos) != 0) {
        const eval::User listed{individuals.at(pos, 0), {}, {}, {}, false, {}};
        if (group.compiled().assign(listed).slot != static_cast<int>(pos)) {
          fail("an individual is not in the first slot listing them", individuals.at(pos, 0));
        }
        break;
      }
    }
  }
}

}  // namespace

config::ParseOptions serving_options(const cache::Snapshot* known) {
  const proxy::Settings settings;
  config::ParseOptions options;
  options.limits.max_document_bytes = settings.max_config_bytes;
  options.limits.max_groups = settings.max_groups;
  options.known = [known](const common::Digest& digest) {
    return known != nullptr && known->knows(digest);
  };
  return options;
}

std::unique_ptr<const cache::Snapshot> build(const config::ListPage& page, std::uint64_t version,
                                             const std::string& source,
                                             std::vector<config::ConfigError>& rejected,
                                             const cache::Snapshot* previous) {
  cache::BuildStats stats;
  auto snapshot = cache::Snapshot::build(page, version, {source}, rejected, previous, &stats);
  for (const config::ConfigError& e : rejected) {
    (void)e.to_string();
  }
  if (stats.compiled + stats.reused != snapshot->size()) {
    fail("the build's counts do not add up to its groups");
  }
  assign_users(*snapshot);
  (void)snapshot->memory_bytes();
  return snapshot;
}

std::string served_listing(const cache::Snapshot& snapshot) {
  std::string list;
  common::JsonWriter writer{list};
  config::write_list_page(
      writer, snapshot.size(),
      [&](common::JsonWriter& w, std::size_t i) {
        config::write_group(w, snapshot.group(i).to_config());
      },
      std::nullopt);
  return list;
}

void check_served_copy(const cache::Snapshot& snapshot) {
  // What is served is a fixed point: read back and served again, it is the same JSON. (Not the
  // same GroupConfig: an absent evaluationMode is served as "remote".)
  for (const config::GroupConfig& group : snapshot.configs()) {
    const std::string json = config::group_json(group);
    auto again = config::parse_group(json);
    if (!again) {
      fail("a served group does not read back", json + "\n" + again.error().front().to_string());
    }
    if (config::group_json(*again) != json) {
      fail("a served group reads back otherwise", json + "\n" + config::group_json(*again));
    }
  }
  const std::string list = served_listing(snapshot);
  auto page = config::parse_list_page(list);
  if (!page || !page->rejected.empty()) {
    fail("the served listing does not read back",
         list + "\n" + (page ? page->rejected.front().to_string() : page.error().to_string()));
  }
  std::vector<config::ConfigError> rejected;
  auto copy = cache::Snapshot::build(*page, snapshot.version() + 1, {"upstream:copy"}, rejected);
  if (!rejected.empty()) {
    fail("the served listing builds with rejections", list + "\n" + rejected.front().to_string());
  }
  if (const std::string again = served_listing(*copy); again != list) {
    fail("the served listing reads back otherwise", list + "\n" + again);
  }
}

}  // namespace mutex_edge::fuzz
