#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "cache/cohort_members.hpp"

namespace mutex_edge::sources {

/// A 200 answer of Amplitude's cohort download API, GET /sdk/v1/cohort/{id}: `{"cohortId",
/// "groupType", "groupTypeId", "lastComputed", "lastModified", "size", "memberIds": [...]}`.
struct CohortDownload {
  std::string id;
  std::string group_type;
  std::int64_t group_type_id = 0;
  std::int64_t last_computed = 0;  // ms since the epoch
  std::int64_t last_modified = 0;
  std::size_t size = 0;  // as the answer says; `members` holds the distinct ids
  cache::CohortMembers members;
};

/// Parses a download's body; members may be strings or integers (kept as their decimal text, as
/// the SDKs compare user ids). Refuses more than `max_members` members, a missing or mistyped
/// field, and invalid JSON, with a message that names the problem.
[[nodiscard]] boost::system::result<CohortDownload, std::string> parse_cohort_download(
    std::string_view body, std::size_t max_members);

}  // namespace mutex_edge::sources
