// mutex-mgmt's cohort seed file (--cohorts-seed), read by config::load_cohorts_file with the
// default limits. An error is one line naming the file. What loads holds valid, distinct ids,
// distinct members and a group type; written back as a seed file, it loads the same.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_writer.hpp"
#include "config/cohorts.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace mutex_edge;

namespace {

/// `cohorts` as a seed file, every field written.
std::string seed_file(const std::vector<config::Cohort>& cohorts) {
  std::string json;
  common::JsonWriter writer{json};
  writer.begin_object().key("cohorts").begin_array();
  for (const config::Cohort& cohort : cohorts) {
    writer.begin_object();
    writer.key("cohortId").value(cohort.id);
    writer.key("memberIds").begin_array();
    for (const std::string& member : cohort.members) {
      writer.value(member);
    }
    writer.end_array();
    writer.key("groupType").value(cohort.group_type);
    writer.key("groupTypeId").value(cohort.group_type_id);
    if (cohort.last_computed) {
      writer.key("lastComputed").value(*cohort.last_computed);
    }
    if (cohort.last_modified) {
      writer.key("lastModified").value(*cohort.last_modified);
    }
    writer.end_object();
  }
  writer.end_array().end_object();
  return json;
}

void check_cohorts(const std::vector<config::Cohort>& cohorts) {
  const config::CohortLimits limits;
  std::set<std::string_view> ids;
  for (const config::Cohort& cohort : cohorts) {
    if (!config::valid_cohort_id(cohort.id) || !ids.insert(cohort.id).second) {
      fuzz::fail("a seed file loads an invalid or repeated cohort id", cohort.id);
    }
    if (cohort.group_type.empty() || cohort.group_type.size() > limits.max_group_type_bytes) {
      fuzz::fail("a seed file loads a cohort without a group type", cohort.id);
    }
    if ((cohort.last_computed && *cohort.last_computed < 0) ||
        (cohort.last_modified && *cohort.last_modified < 0)) {
      fuzz::fail("a seed file loads a negative time", cohort.id);
    }
    if (cohort.members.size() > limits.max_members) {
      fuzz::fail("a seed file loads a cohort over the member limit", cohort.id);
    }
    std::set<std::string_view> members;
    for (const std::string& member : cohort.members) {
      if (member.size() > limits.max_member_bytes || !members.insert(member).second) {
        fuzz::fail("a seed file loads a member too long or twice", member);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path path = [] {
    fuzz::quiet_logs();
    return fuzz::scratch_dir() / "cohorts.json";
  }();
  static const std::filesystem::path written = fuzz::scratch_dir() / "cohorts-again.json";
  fuzz::write_file(path, fuzz::text(data, size));

  const config::CohortLimits limits;
  auto cohorts = config::load_cohorts_file(path, limits);
  if (!cohorts) {
    const std::string message = cohorts.error().message;
    if (message.find('\n') != std::string::npos) {
      fuzz::fail("a seed file's error is more than one line", message);
    }
    if (message.find(path.string()) == std::string::npos) {
      fuzz::fail("a seed file's error does not name the file", message);
    }
    return 0;
  }
  check_cohorts(*cohorts);

  const std::string json = seed_file(*cohorts);
  fuzz::write_file(written, json);
  auto again = config::load_cohorts_file(written, limits);
  if (!again) {
    fuzz::fail("a seed file written from what loaded does not load",
               again.error().message + "\n" + json);
  }
  if (*again != *cohorts) {
    fuzz::fail("a seed file written from what loaded loads otherwise", json);
  }
  return 0;
}
