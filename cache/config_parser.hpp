#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "cache/model.hpp"

namespace mutex_edge::cache {

/// A problem with configuration input, naming where it is: the group (by position, id and key
/// as far as they could be read) and the field within it.
struct ConfigError {
  std::string group;  // e.g. `mutexes[3] (id 12, key "checkout")`; empty for the whole document
  std::string field;  // e.g. `slots[2].percentage`; empty when the group or document as a whole
  std::string message;

  [[nodiscard]] std::string to_string() const;
};

struct ParseOptions {
  ConfigLimits limits;
  /// The Management API requires percentages summing to exactly 100 on create; served
  /// configurations may leave a share unallocated (sum under 100).
  bool require_full_allocation = false;
};

/// A page of the list endpoint: `{"mutexes":[group...], "nextCursor": ...}`. Groups that fail
/// validation are left out of `groups` and reported in `rejected`; they never poison the rest.
struct ListPage {
  std::vector<GroupConfig> groups;
  std::vector<ConfigError> rejected;
  std::optional<std::string> next_cursor;
};

/// Parses and validates a list page. Fails as a whole only when the document itself is unusable
/// (not JSON, too large, no `mutexes` array, a bad `nextCursor`).
[[nodiscard]] boost::system::result<ListPage, ConfigError> parse_list_page(
    std::string_view json, const ParseOptions& options = {});

/// Parses and validates a single group (the get endpoint's answer).
[[nodiscard]] boost::system::result<GroupConfig, std::vector<ConfigError>> parse_group(
    std::string_view json, const ParseOptions& options = {});

/// The rules of design.md section 1 that span a group's fields (slot count, unique indexes,
/// percentage sum, evaluation mode). Decoding already checked types and sizes.
[[nodiscard]] std::vector<ConfigError> validate_group(const GroupConfig& group,
                                                      const ParseOptions& options = {});

/// `mutexes[3] (id 12, key "checkout")`, as used in ConfigError::group.
[[nodiscard]] std::string describe_group(std::size_t position, const GroupConfig& group);

}  // namespace mutex_edge::cache
