#include "mgmt/api.hpp"

#include <array>
#include <charconv>
#include <optional>

#include <spdlog/spdlog.h>

#include "common/json_writer.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "config/paging.hpp"
#include "config/parser.hpp"
#include "config/requests.hpp"
#include "config/serialize.hpp"
#include "mgmt/keys.hpp"

namespace mutex_edge::mgmt {
namespace {

constexpr std::string_view kCollection = "/api/1/mutexes";
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

ApiError archived_error(std::int64_t id) {
  return ApiError{ErrorCode::kNotFound,
                  "mutex group " + std::to_string(id) +
                      " is archived; PATCH it with {\"archive\": false} to restore it"};
}

}  // namespace

std::string_view to_string(Route route) noexcept {
  static constexpr std::array<std::string_view, 7> kNames = {
      "list", "get", "create", "edit", "edit_slot", "health", "other"};
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
          "/api/1/mutexes/{id}/slots/{slotIndex} and /healthz");
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
  for (const http::QueryParams::Param& param : query_.params()) {
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

}  // namespace mutex_edge::mgmt
