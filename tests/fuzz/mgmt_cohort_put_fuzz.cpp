// mutex-mgmt's cohort upload, PUT /sdk/v1/cohort/{id}: the body through mgmt::Api (decoded by
// config::decode_cohort_put, stored in SQLite). It is taken exactly when the decoder takes it,
// the answer counts the decoded members, and what GET /sdk/v1/cohort/{id} then serves is a
// download mutex-edge reads (sources::parse_cohort_download) with those members.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sources/cohort_download.hpp"

#include <simdjson.h>

#include "config/cohorts.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/management.hpp"

using namespace mutex_edge;

namespace {

constexpr std::string_view kTarget = "/sdk/v1/cohort/c-1";
constexpr std::string_view kId = "c-1";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Management& mgmt = fuzz::Management::get();
  const std::string_view body = fuzz::text(data, size);
  const auto decoded = config::decode_cohort_put(body, config::CohortLimits{});
  const http::Response& put = mgmt.call(http::Request{.method = http::Method::kPut,
                                                      .target = kTarget,
                                                      .content_type = "application/json",
                                                      .body = body},
                                        !fuzz::valid_utf8(body));
  if ((put.status == 200) != decoded.has_value()) {
    fuzz::fail(decoded ? "a cohort the decoder takes is refused"
                       : "a cohort the decoder refuses is stored",
               put.body);
  }
  if (!decoded) {
    mgmt.check_and_reset_if_changed();
    return 0;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element summary;
  std::uint64_t members = 0;
  std::string_view id;
  std::string_view group_type;
  if (parser.parse(put.body).get(summary) != simdjson::SUCCESS ||
      summary["size"].get_uint64().get(members) != simdjson::SUCCESS ||
      summary["cohortId"].get_string().get(id) != simdjson::SUCCESS ||
      summary["groupType"].get_string().get(group_type) != simdjson::SUCCESS) {
    fuzz::fail("a cohort's PUT answer has no size, cohortId or groupType", put.body);
  }
  if (id != kId || members != decoded->members.size()) {
    fuzz::fail("a cohort's PUT answer does not count the decoded members",
               std::to_string(decoded->members.size()) + " decoded\n" + put.body);
  }
  if (decoded->group_type && group_type != *decoded->group_type) {
    fuzz::fail("a cohort's PUT answer has another groupType", put.body);
  }
  const std::string stored_group_type{group_type};  // `put` is the next answer's too

  // What mutex-mgmt serves, mutex-edge reads: the same members, every one of them.
  const http::Response& got =
      mgmt.call(http::Request{.method = http::Method::kGet, .target = kTarget}, false);
  if (got.status != 200) {
    fuzz::fail("a stored cohort does not read back", got.body);
  }
  auto download = sources::parse_cohort_download(got.body, config::CohortLimits{}.max_members);
  if (!download) {
    fuzz::fail("mutex-edge does not read the cohort mutex-mgmt serves: " + download.error(),
               got.body);
  }
  if (download->id != kId || download->members.size() != decoded->members.size() ||
      download->size != decoded->members.size() || download->group_type != stored_group_type) {
    fuzz::fail("the cohort mutex-mgmt serves is not the one stored", got.body);
  }
  for (const std::string& member : decoded->members) {
    if (!download->members.contains(cache::CohortMembers::key(member))) {
      fuzz::fail("a stored member is not in the cohort mutex-mgmt serves", member);
    }
  }
  mgmt.check_and_reset_if_changed();
  return 0;
}
