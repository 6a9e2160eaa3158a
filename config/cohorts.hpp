#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "common/error.hpp"
#include "config/error.hpp"

namespace mutex_edge::config {

// Cohorts as Amplitude's cohort download API describes them (GET /sdk/v1/cohort/{cohortId}):
// {cohortId, groupType, groupTypeId, lastComputed, lastModified, size, memberIds}. mutex-mgmt
// serves them; these are its decoders of cohort input (the PUT body, the seed file).

/// The group type of user cohorts, the only one the SDKs match a user's user_id against.
inline constexpr std::string_view kUserGroupType = "User";

struct CohortLimits {
  std::size_t max_members = 5'000'000;
  std::size_t max_member_bytes = 1024;
  std::size_t max_group_type_bytes = 256;
  std::size_t max_document_bytes = std::size_t{256} << 20;  // a seed file
};

/// A cohort id: 1 to 256 of `A-Z a-z 0-9 . _ ~ -`, but not "." or ".." (URL-safe as they are,
/// so a path segment or a file name is the id itself). Amplitude's ids are alphanumeric.
[[nodiscard]] bool valid_cohort_id(std::string_view id) noexcept;
/// What valid_cohort_id wants, for messages.
inline constexpr std::string_view kCohortIdRule =
    "1 to 256 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-', not '.' or '..'";

struct Cohort {
  std::string id;
  std::string group_type{kUserGroupType};
  std::int64_t group_type_id = 0;
  std::optional<std::int64_t> last_computed;  // ms since the epoch; absent: the caller's now
  std::optional<std::int64_t> last_modified;
  std::vector<std::string> members;  // distinct, in the order first given

  bool operator==(const Cohort&) const = default;
};

/// The body of PUT /sdk/v1/cohort/{id}: `{"memberIds": [...], "groupType"?, "groupTypeId"?}`.
/// Members are strings, or integers within JavaScript's safe range kept as decimal text;
/// duplicates are dropped. Unknown fields (cohortId, size, ...) are ignored. Stops at the first
/// problem, which names the field.
struct CohortPut {
  std::vector<std::string> members;
  std::optional<std::string> group_type;
  std::optional<std::int64_t> group_type_id;
};
[[nodiscard]] boost::system::result<CohortPut, ConfigError> decode_cohort_put(
    std::string_view body, const CohortLimits& limits);

/// Reads a cohort seed file, `{"cohorts": [{"cohortId": "...", "memberIds": [...]}, ...]}`,
/// each cohort optionally with groupType (default "User"), groupTypeId (default 0),
/// lastComputed and lastModified (ms since the epoch). Ids must be valid and unique. The error
/// is one line naming the file, the cohort and the field.
[[nodiscard]] common::Result<std::vector<Cohort>> load_cohorts_file(
    const std::filesystem::path& path, const CohortLimits& limits);

}  // namespace mutex_edge::config
