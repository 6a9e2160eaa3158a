#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "config/error.hpp"
#include "config/model.hpp"

namespace mutex_edge::config {

struct ParseOptions {
  ConfigLimits limits;
  /// The Management API requires percentages summing to exactly 100 on create; served
  /// configurations may leave a share unallocated (sum under 100).
  bool require_full_allocation = false;
  /// A seed file for mutex-mgmt: id, key, bucketingKey, bucketingSalt and evaluationMode may be
  /// missing or null (left 0 or empty for the caller to fill in).
  bool identity_optional = false;
  /// mutex-mgmt reading back a group it stored: one stored before slots' variant keys "off" and
  /// "unallocated" were refused still reads, so that it can be archived (edits check it again).
  bool allow_reserved_variant_keys = false;
  /// When set, every group's digest (a hash of its JSON content, formatting aside) is taken,
  /// and a group whose digest `known` recognises is not decoded at all: the caller holds it
  /// already (a served group that did not change). Decoding is most of a large page's cost.
  std::function<bool(const common::Digest&)> known;
};

/// A page of the list endpoint: `{"mutexes":[group...], "nextCursor": ...}`. Groups that fail
/// validation are left out of `groups` and reported in `rejected`; they never poison the rest.
/// Groups marked `"archived": true` get no assignment: they are left out too, but not rejected.
struct ListPage {
  /// A group the parser did not decode because ParseOptions::known recognised its digest.
  struct Known {
    std::size_t position;  // among the page's groups (decoded and known), from 0
    common::Digest digest;
  };

  std::vector<GroupConfig> groups;      // decoded and valid, in document order
  std::vector<common::Digest> digests;  // of `groups`, when ParseOptions::known was set
  std::vector<Known> known;             // in document order
  std::vector<ConfigError> rejected;
  std::vector<std::string> archived;  // the keys of the archived groups ("" for none), not decoded
  std::optional<std::string> next_cursor;

  /// Appends `page`'s groups after this page's (merging the pages of one listing).
  void append(ListPage&& page);
};

/// Parses and validates a list page. Fails as a whole only when the document itself is unusable
/// (not JSON, too large, no `mutexes` array, a bad `nextCursor`).
[[nodiscard]] boost::system::result<ListPage, ConfigError> parse_list_page(
    std::string_view json, const ParseOptions& options = {});

/// Bytes a parser may read past the end of its input (simdjson's padding).
inline constexpr std::size_t kParsePadding = 64;

/// parse_list_page for input followed by kParsePadding readable bytes (a string read with that
/// much spare capacity, say): it is parsed where it is, not copied first.
[[nodiscard]] boost::system::result<ListPage, ConfigError> parse_padded_list_page(
    std::string_view json, const ParseOptions& options = {});

/// Parses and validates a single group (the get endpoint's answer), collecting every problem.
[[nodiscard]] boost::system::result<GroupConfig, std::vector<ConfigError>> parse_group(
    std::string_view json, const ParseOptions& options = {});

/// The rules of design.md section 1 that span a group's fields (slot count, unique indexes,
/// percentages and their sum, evaluation mode), and no slot's variant key "off" or
/// "unallocated". Decoding already checked types and sizes.
[[nodiscard]] std::vector<ConfigError> validate_group(const GroupConfig& group,
                                                      const ParseOptions& options = {});

/// Reads and parses a file in the list endpoint's shape (a config file, a seed). Invalid groups
/// are reported in `rejected`; a file unusable as a whole is an error naming the path.
[[nodiscard]] common::Result<ListPage> load_list_file(const std::filesystem::path& path,
                                                      const ParseOptions& options = {});

}  // namespace mutex_edge::config
