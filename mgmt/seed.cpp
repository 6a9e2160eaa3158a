#include "mgmt/seed.hpp"

#include <algorithm>
#include <set>

#include "config/parser.hpp"
#include "mgmt/keys.hpp"

namespace mutex_edge::mgmt {

common::Result<std::vector<config::GroupConfig>> load_seed(const std::string& path,
                                                           std::size_t max_bytes) {
  auto fail = [&](const std::string& why) { return common::Error{"seed " + path + ": " + why}; };
  config::ParseOptions options;
  options.limits.max_document_bytes = max_bytes;
  options.identity_optional = true;
  auto page = config::load_list_file(path, options);
  if (!page) {
    return common::Error{"seed: " + page.error().message};
  }
  if (!page->rejected.empty()) {
    std::string why = page->rejected.front().to_string();
    if (page->rejected.size() > 1) {
      why += " (and " + std::to_string(page->rejected.size() - 1) + " more problems)";
    }
    return fail(why);
  }
  std::vector<config::GroupConfig>& groups = page->groups;

  // What is taken first, then the missing parts filled in, in document order.
  std::int64_t max_id = 0;
  std::set<std::string> keys;
  for (const config::GroupConfig& group : groups) {
    max_id = std::max(max_id, group.id);
    if (!group.key.empty()) {
      keys.insert(group.key);
    }
  }
  for (config::GroupConfig& group : groups) {
    if (group.id == 0) {
      group.id = ++max_id;
    }
    if (group.key.empty()) {
      const std::string base = slugify(group.name);
      std::string key = base;
      for (int n = 2; keys.contains(key); ++n) {
        key = base + "-" + std::to_string(n);
      }
      keys.insert(key);
      group.key = std::move(key);
    }
    if (group.bucketing_key.empty()) {
      group.bucketing_key = "amplitude_id";
    }
    if (group.bucketing_salt.empty()) {
      group.bucketing_salt = random_alphanumeric(8);
    }
    if (group.evaluation_mode.empty()) {
      group.evaluation_mode = "remote";
    }
  }

  std::set<std::int64_t> ids;
  keys.clear();
  for (const config::GroupConfig& group : groups) {
    if (!ids.insert(group.id).second) {
      return fail("id " + std::to_string(group.id) + " is used by more than one group");
    }
    if (!keys.insert(group.key).second) {
      return fail("key \"" + group.key + "\" is used by more than one group");
    }
  }
  return std::move(groups);
}

}  // namespace mutex_edge::mgmt
