#include "mgmt/api.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <optional>

#include <spdlog/spdlog.h>

#include "common/json_writer.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "common/time.hpp"
#include "config/paging.hpp"
#include "config/parser.hpp"
#include "config/requests.hpp"
#include "config/serialize.hpp"
#include "mgmt/keys.hpp"

namespace mutex_edge::mgmt {
namespace {

constexpr std::string_view kCollection = "/api/1/mutexes";
constexpr std::string_view kCohorts = "/sdk/v1/cohort";
constexpr std::size_t kSaltLength = 8;
constexpr std::size_t kMaxListParams = 16;

/// `full_allocation`: percentages must sum to exactly 100 (create). Edits cannot change
/// percentages, so they keep a seeded group's unallocated share.
std::optional<ApiError> validate(const config::GroupConfig& group,
                                 const config::ConfigLimits& limits, bool full_allocation) {
  config::ParseOptions options;
  options.limits = limits;
  options.require_full_allocation = full_allocation;
  auto errors = config::validate_group(group, options);
  if (errors.empty()) {
    return std::nullopt;
  }
  return to_api_error(errors.front());
}

/// A cohort's fields but its members, as the download and the PUT answer them.
void write_cohort_fields(common::JsonWriter& writer, const Store::StoredCohort& cohort) {
  writer.key("cohortId").value(cohort.id);
  writer.key("groupType").value(cohort.group_type);
  writer.key("groupTypeId").value(cohort.group_type_id);
  writer.key("lastComputed").value(cohort.last_computed);
  writer.key("lastModified").value(cohort.last_modified);
  writer.key("size").value(cohort.size);
}

ApiError archived_error(std::int64_t id) {
  return ApiError{ErrorCode::kNotFound,
                  "mutex group " + std::to_string(id) +
                      " is archived; PATCH it with {\"archive\": false} to restore it"};
}

}  // namespace

std::string_view to_string(Route route) noexcept {
  static constexpr std::array<std::string_view, 9> kNames = {
      "list", "get", "create", "edit", "edit_slot", "cohort_get", "cohort_put", "health", "other"};
  static_assert(static_cast<std::size_t>(Route::kUnknown) + 1 == kNames.size());
  return kNames[static_cast<std::size_t>(route)];
}

void error(http::Response& response, ErrorCode code, std::string_view message) {
  http::error(response, status_of(code), to_string(code), message);
}

Api::Api(Store& store, const http::BearerKeys& keys, Options options)
    : store_{store}, keys_{keys}, options_{std::move(options)} {}

Route Api::handle(const http::Request& request, http::Response& response) {
  using http::Method;
  response.reset();
  const std::string_view target = request.target;
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);

  if (path == "/healthz") {
    if (request.method == Method::kGet) {
      response.body = R"({"status":"ok"})";
    } else {
      response.header("Allow", "GET, HEAD");
      error(response, ErrorCode::kMethodNotAllowed, "use GET on /healthz");
    }
    return Route::kHealth;
  }
  if (path.starts_with(kCohorts) &&
      (path.size() == kCohorts.size() || path[kCohorts.size()] == '/')) {
    return cohort_route(path, query, request, response);
  }

  // /api/1/mutexes[/{id}[/slots/{slotIndex}]]
  std::string_view id_text, slot_text;
  std::size_t depth = 0;
  if (path == kCollection) {
    depth = 1;
  } else if (path.starts_with(kCollection) && path.size() > kCollection.size() + 1 &&
             path[kCollection.size()] == '/') {
    const std::string_view rest = path.substr(kCollection.size() + 1);
    const std::size_t slash = rest.find('/');
    id_text = rest.substr(0, slash);
    if (slash == std::string_view::npos) {
      depth = 2;
    } else if (rest.substr(slash).starts_with("/slots/") &&
               rest.size() > slash + std::string_view{"/slots/"}.size() &&
               rest.find('/', slash + std::string_view{"/slots/"}.size()) ==
                   std::string_view::npos) {
      slot_text = rest.substr(slash + std::string_view{"/slots/"}.size());
      depth = 3;
    }
  }
  if (depth == 0) {
    error(response, ErrorCode::kNotFound,
          "no such route; this server answers /api/1/mutexes, /api/1/mutexes/{id}, "
          "/api/1/mutexes/{id}/slots/{slotIndex}, /sdk/v1/cohort/{cohortId} and /healthz");
    return Route::kUnknown;
  }

  if (options_.require_auth) {
    const http::KeyCheck auth = keys_.check(request.authorization);
    if (auth != http::KeyCheck::kOk) {
      response.header("WWW-Authenticate", "Bearer realm=\"mutex-mgmt\"");
      error(response, ErrorCode::kUnauthorized,
            auth == http::KeyCheck::kMissing
                ? "send the management API key as Authorization: Bearer <management-api-key>"
                : "the management API key in Authorization is not valid");
      return Route::kUnknown;
    }
  }

  auto method_not_allowed = [&](std::string_view allow) {
    response.header("Allow", allow);
    error(response, ErrorCode::kMethodNotAllowed,
          "use " + std::string{allow} + " on " + std::string{path});
    return Route::kUnknown;
  };
  const bool has_body = request.method == Method::kPost || request.method == Method::kPatch;
  if (has_body && !http::is_json(request.content_type)) {
    const bool allowed = (depth == 1 && request.method == Method::kPost) ||
                         (depth >= 2 && request.method == Method::kPatch);
    if (allowed) {
      error(response, ErrorCode::kUnsupportedMediaType,
            "send the body as JSON with Content-Type: application/json" +
                (request.content_type.empty() ? std::string{}
                                              : ", not " + common::excerpt(request.content_type)));
      return Route::kUnknown;
    }
  }

  if (depth == 1) {
    if (request.method == Method::kGet) {
      list(query, response);
      return Route::kList;
    }
    if (request.method == Method::kPost) {
      create(request, response);
      return Route::kCreate;
    }
    return method_not_allowed("GET, HEAD, POST");
  }

  const auto id = config::parse_id(id_text);
  if (depth == 2) {
    if (request.method != Method::kGet && request.method != Method::kPatch) {
      return method_not_allowed("GET, HEAD, PATCH");
    }
  } else if (request.method != Method::kPatch) {
    return method_not_allowed("PATCH");
  }
  if (!id) {
    error(response, ErrorCode::kNotFound,
          "there is no mutex group with id " + common::excerpt(id_text) + "; ids are integers");
    return depth == 2 && request.method == Method::kGet ? Route::kGet : Route::kUnknown;
  }
  if (depth == 2 && request.method == Method::kGet) {
    get(*id, response);
    return Route::kGet;
  }
  if (depth == 2) {
    edit(*id, request, response);
    return Route::kEdit;
  }
  edit_slot(*id, slot_text, request, response);
  return Route::kEditSlot;
}

void Api::list(std::string_view query, http::Response& response) {
  std::size_t limit = config::kDefaultPageSize;
  std::int64_t after = 0;
  std::string problem;
  if (!query_.parse(query, kMaxListParams, problem)) {
    return error(response, ErrorCode::kInvalidQuery, problem);
  }
  for (const common::QueryParams::Param& param : query_.params()) {
    if (param.key == "limit") {
      auto parsed = config::parse_page_limit(param.value);
      if (!parsed) {
        return error(
            response, ErrorCode::kInvalidLimit,
            std::string{config::kBadLimitMessage} + ", got " + common::excerpt(param.value));
      }
      limit = *parsed;
    } else if (param.key == "cursor" && !param.value.empty()) {
      const auto cursor = config::parse_id(param.value);
      if (!cursor) {
        return error(response, ErrorCode::kInvalidCursor,
                     "cursor must be the nextCursor of a previous page, got " +
                         common::excerpt(param.value));
      }
      after = *cursor;
    }
  }
  auto page = store_.list(after, limit);
  if (!page) {
    return error(response, page.error());
  }
  const std::string next = page->next_after ? std::to_string(*page->next_after) : std::string{};
  common::JsonWriter writer{response.body};
  config::write_list_page(
      writer, page->groups.size(),
      [&](common::JsonWriter& w, std::size_t i) { w.raw(page->groups[i]); },  // as stored
      page->next_after ? std::optional<std::string_view>{next} : std::nullopt);
}

void Api::get(std::int64_t id, http::Response& response) {
  auto group = store_.get(id);
  if (!group) {
    return error(response, group.error());
  }
  response.body = std::move(*group);
}

void Api::create(const http::Request& request, http::Response& response) {
  auto decoded = config::decode_create(request.body, options_.limits);
  if (!decoded) {
    return error(response, to_api_error(decoded.error()));
  }
  config::GroupConfig& group = *decoded;
  if (group.evaluation_mode.empty()) {
    group.evaluation_mode = "remote";
  }
  if (group.bucketing_key.empty()) {
    group.bucketing_key = "amplitude_id";
  }
  if (group.bucketing_salt.empty()) {
    group.bucketing_salt = random_alphanumeric(kSaltLength);
  }
  const bool key_given = !group.key.empty();
  if (!key_given) {
    group.key = slugify(group.name);
  }
  if (auto invalid = validate(group, options_.limits, true)) {
    return error(response, *invalid);
  }
  auto stored = store_.create(group, key_given);
  if (!stored) {
    return error(response, stored.error());
  }
  spdlog::info("msg=\"group created\" id={} key={} slots={}", group.id, common::quote(group.key),
               group.slots.size());
  const std::string_view host =
      request.host.empty() ? std::string_view{options_.fallback_host} : request.host;
  common::JsonWriter writer{response.body};
  writer.begin_object();
  writer.key("id").value(group.id);
  writer.key("url").value("http://" + std::string{host} + std::string{kCollection} + "/" +
                          std::to_string(group.id));
  writer.end_object();
}

void Api::edit(std::int64_t id, const http::Request& request, http::Response& response) {
  auto decoded = config::decode_group_edit(request.body, options_.limits);
  if (!decoded) {
    return error(response, to_api_error(decoded.error()));
  }
  const config::GroupEdit& edit = *decoded;
  const char* what = "edited";
  auto stored =
      store_.update(id, [&](config::GroupConfig& group, bool& archived) -> std::optional<ApiError> {
        if (edit.archive == true) {
          archived = true;
          what = "archived";
          return std::nullopt;
        }
        if (archived && edit.archive != false) {
          return archived_error(id);
        }
        if (archived) {
          archived = false;
          what = "restored";
        }
        if (edit.name) {
          group.name = *edit.name;
        }
        if (edit.description) {
          group.description = *edit.description;
        }
        return validate(group, options_.limits, false);
      });
  if (!stored) {
    return error(response, stored.error());
  }
  spdlog::info("msg=\"group {}\" id={}", what, id);
  response.body = std::move(*stored);
}

void Api::edit_slot(std::int64_t id, std::string_view slot_text, const http::Request& request,
                    http::Response& response) {
  const auto index = config::parse_id(slot_text);
  if (!index || *index < 1) {
    return error(response, ErrorCode::kSlotNotFound,
                 "slot indexes are integers from 1, got " + common::excerpt(slot_text));
  }
  auto decoded = config::decode_slot_edit(request.body, options_.limits);
  if (!decoded) {
    return error(response, to_api_error(decoded.error()));
  }
  config::SlotEdit& edit = *decoded;
  auto stored =
      store_.update(id, [&](config::GroupConfig& group, bool& archived) -> std::optional<ApiError> {
        if (archived) {
          return archived_error(id);
        }
        config::SlotConfig* slot = nullptr;
        for (config::SlotConfig& s : group.slots) {
          if (s.index == *index) {
            slot = &s;
          }
        }
        if (slot == nullptr) {
          return ApiError{ErrorCode::kSlotNotFound,
                          "mutex group " + std::to_string(id) + " has slots 1 to " +
                              std::to_string(group.slots.size()) + ", there is no slot " +
                              std::to_string(*index)};
        }
        if (edit.experiments) {
          slot->experiments = *edit.experiments;
        }
        if (edit.holdouts) {
          slot->holdouts = *edit.holdouts;
        }
        if (edit.individuals) {
          slot->individuals = *edit.individuals;
        }
        if (edit.cohorts) {
          slot->cohorts = *edit.cohorts;
        }
        return validate(group, options_.limits, false);
      });
  if (!stored) {
    return error(response, stored.error());
  }
  spdlog::info("msg=\"slot edited\" id={} slot={}", id, *index);
  response.body = std::move(*stored);
}

Route Api::cohort_route(std::string_view path, std::string_view query, const http::Request& request,
                        http::Response& response) {
  using http::Method;
  const std::string_view id =
      path.size() > kCohorts.size() + 1 ? path.substr(kCohorts.size() + 1) : std::string_view{};
  if (id.empty() || id.find('/') != std::string_view::npos) {
    error(response, ErrorCode::kNotFound,
          "no such route; a cohort is /sdk/v1/cohort/{cohortId}, got " + common::excerpt(path));
    return Route::kUnknown;
  }
  if (options_.require_auth) {
    const http::KeyCheck auth = options_.cohort_auth.check(request.authorization);
    if (auth != http::KeyCheck::kOk) {
      response.header("WWW-Authenticate", "Basic realm=\"mutex-mgmt\", charset=\"UTF-8\"");
      error(response, ErrorCode::kUnauthorized,
            !options_.cohort_auth.has_secret()
                ? "this server has no cohort secret: start mutex-mgmt with "
                  "MUTEX_MGMT_COHORT_SECRET set to serve /sdk/v1/cohort"
            : auth == http::KeyCheck::kMissing
                ? "send Authorization: Basic base64(<management-api-key>:<cohort-secret>)"
                : "the credentials in Authorization are not valid");
      return Route::kUnknown;
    }
  }
  if (request.method == Method::kGet) {
    get_cohort(id, query, response);
    return Route::kCohortGet;
  }
  if (request.method != Method::kPut) {
    response.header("Allow", "GET, HEAD, PUT");
    error(response, ErrorCode::kMethodNotAllowed, "use GET, HEAD or PUT on /sdk/v1/cohort/{id}");
    return Route::kUnknown;
  }
  if (!http::is_json(request.content_type)) {
    error(response, ErrorCode::kUnsupportedMediaType,
          "send the body as JSON with Content-Type: application/json" +
              (request.content_type.empty() ? std::string{}
                                            : ", not " + common::excerpt(request.content_type)));
    return Route::kUnknown;
  }
  put_cohort(id, request, response);
  return Route::kCohortPut;
}

void Api::get_cohort(std::string_view id, std::string_view query, http::Response& response) {
  std::optional<std::int64_t> max_size, last_modified;
  std::string problem;
  if (!query_.parse(query, kMaxListParams, problem)) {
    return error(response, ErrorCode::kInvalidQuery, problem);
  }
  for (const common::QueryParams::Param& param : query_.params()) {
    const bool max = param.key == "maxCohortSize";
    if (!max && param.key != "lastModified") {
      continue;
    }
    const auto value = config::parse_id(param.value);
    if (!value) {
      return error(response, ErrorCode::kInvalidQuery,
                   std::string{param.key} +
                       (max ? " must be a non-negative integer, the most members to download"
                            : " must be a non-negative integer, the lastModified (ms since the "
                              "epoch) of the copy held") +
                       ", got " + common::excerpt(param.value));
    }
    (max ? max_size : last_modified) = *value;
  }
  if (!config::valid_cohort_id(id)) {
    return error(response, ErrorCode::kNotFound, "there is no cohort " + common::excerpt(id));
  }
  auto unchanged = [&](const Store::StoredCohort& c) {
    return last_modified && c.last_modified <= *last_modified;
  };
  auto too_large = [&](const Store::StoredCohort& c) { return max_size && c.size > *max_size; };
  auto cohort = store_.cohort(std::string{id}, [&](const Store::StoredCohort& c) {
    return !unchanged(c) && !too_large(c);
  });
  if (!cohort) {
    return error(response, cohort.error());
  }
  if (unchanged(*cohort)) {
    response.status = 204;  // not modified since the caller's copy: no body
    return;
  }
  if (too_large(*cohort)) {
    return error(response, ErrorCode::kCohortTooLarge,
                 "cohort " + common::excerpt(id) + " has " + std::to_string(cohort->size) +
                     " members, more than maxCohortSize " + std::to_string(*max_size));
  }
  response.body.reserve(cohort->members_json.size() + 256);
  common::JsonWriter writer{response.body};
  writer.begin_object();
  write_cohort_fields(writer, *cohort);
  writer.key("memberIds").raw(cohort->members_json);
  writer.end_object();
}

void Api::put_cohort(std::string_view id, const http::Request& request, http::Response& response) {
  if (!config::valid_cohort_id(id)) {
    return error(response, ErrorCode::kInvalidValue,
                 std::string{"a cohort id is "}.append(config::kCohortIdRule).append(", got ") +
                     common::excerpt(id));
  }
  auto decoded = config::decode_cohort_put(request.body, options_.cohort_limits);
  if (!decoded) {
    return error(response, to_api_error(decoded.error()));
  }
  auto stored = store_.put_cohort(std::string{id}, std::move(*decoded), common::now_unix_ms());
  if (!stored) {
    return error(response, stored.error());
  }
  spdlog::info("msg=\"cohort replaced\" cohort={} group_type={} members={} last_modified={}",
               common::quote(id), common::quote(stored->group_type), stored->size,
               stored->last_modified);
  common::JsonWriter writer{response.body};
  writer.begin_object();
  write_cohort_fields(writer, *stored);
  writer.end_object();
}

}  // namespace mutex_edge::mgmt
