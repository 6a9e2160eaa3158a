#include "mgmt/api.hpp"

#include <charconv>
#include <optional>

#include <boost/url/parse_query.hpp>
#include <spdlog/spdlog.h>

#include "cache/config_parser.hpp"
#include "cache/json_text.hpp"
#include "cache/json_writer.hpp"
#include "cache/log.hpp"
#include "mgmt/keys.hpp"
#include "mgmt/request_json.hpp"

namespace mutex_edge::mgmt {
namespace {

constexpr std::string_view kCollection = "/api/1/mutexes";
constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;
constexpr std::size_t kSaltLength = 8;

/// validate_group owns the cross-field rules; its field says which one failed. The decoder
/// already checked each slot's percentage and the slot count (as the cache's own decoder
/// does), so on `slots` what is left is the allocation.
ApiError invalid_group(const cache::ConfigError& e, const cache::GroupConfig& group) {
  std::string code = "invalid_group";
  if (e.field == "evaluationMode") {
    code = "invalid_evaluation_mode";
  } else if (e.field.starts_with("slots")) {
    code = group.percentage_sum() != 100 ? "percentages_must_sum_to_100" : "invalid_slots";
  }
  return ApiError{400, std::move(code), e.field.empty() ? e.message : e.field + ": " + e.message};
}

/// `full_allocation`: percentages must sum to exactly 100 (create). Edits cannot change
/// percentages, so they keep a seeded group's unallocated share.
std::optional<ApiError> validate(const cache::GroupConfig& group, const cache::ConfigLimits& limits,
                                 bool full_allocation) {
  cache::ParseOptions options;
  options.limits = limits;
  options.require_full_allocation = full_allocation;
  auto errors = cache::validate_group(group, options);
  if (errors.empty()) {
    return std::nullopt;
  }
  return invalid_group(errors.front(), group);
}

ApiError archived_error(std::int64_t id) {
  return ApiError{404, "not_found",
                  "mutex group " + std::to_string(id) +
                      " is archived; PATCH it with {\"archive\": false} to restore it"};
}

}  // namespace

Api::Api(Store& store, const ApiKeys& keys, Options options)
    : store_{store}, keys_{keys}, options_{std::move(options)} {}

void Api::error(Response& response, int status, std::string_view code, std::string_view message) {
  http::error(response, status, code, message);
}

Route Api::handle(const Request& request, Response& response) {
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
      response.header("Allow", "GET");
      error(response, 405, "method_not_allowed", "use GET on /healthz");
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
               rest.find('/', slash + std::string_view{"/slots/"}.size()) == std::string_view::npos) {
      slot_text = rest.substr(slash + std::string_view{"/slots/"}.size());
      depth = 3;
    }
  }
  if (depth == 0) {
    error(response, 404, "not_found",
          "no such route; this server answers /api/1/mutexes, /api/1/mutexes/{id}, "
          "/api/1/mutexes/{id}/slots/{slotIndex} and /healthz");
    return Route::kUnknown;
  }

  if (options_.require_auth) {
    const AuthResult auth = keys_.check(request.authorization);
    if (auth != AuthResult::kOk) {
      response.header("WWW-Authenticate", "Bearer realm=\"mutex-mgmt\"");
      error(response, 401, "unauthorized",
            auth == AuthResult::kMissing
                ? "send the management API key as Authorization: Bearer <management-api-key>"
                : "the management API key in Authorization is not valid");
      return Route::kUnknown;
    }
  }

  auto method_not_allowed = [&](std::string_view allow) {
    response.header("Allow", allow);
    error(response, 405, "method_not_allowed",
          "use " + std::string{allow} + " on " + std::string{path});
    return Route::kUnknown;
  };
  const bool has_body = request.method == Method::kPost || request.method == Method::kPatch;
  if (has_body && !http::is_json(request.content_type)) {
    const bool allowed = (depth == 1 && request.method == Method::kPost) ||
                         (depth >= 2 && request.method == Method::kPatch);
    if (allowed) {
      error(response, 415, "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json" +
                (request.content_type.empty()
                     ? std::string{}
                     : ", not " + cache::excerpt(request.content_type)));
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
    return method_not_allowed("GET, POST");
  }

  const auto id = parse_id(id_text);
  if (depth == 2) {
    if (request.method != Method::kGet && request.method != Method::kPatch) {
      return method_not_allowed("GET, PATCH");
    }
  } else if (request.method != Method::kPatch) {
    return method_not_allowed("PATCH");
  }
  if (!id) {
    error(response, 404, "not_found",
          "there is no mutex group with id " + cache::excerpt(id_text) + "; ids are integers");
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

void Api::list(std::string_view query, Response& response) {
  std::size_t limit = kDefaultLimit;
  std::int64_t after = 0;
  // A NUL-terminated copy: Boost.URL 1.81 reads a query's last value past the end of a view.
  const std::string query_text{query};
  auto params = boost::urls::parse_query(query_text);
  if (!params) {
    return error(response, 400, "invalid_query",
                 "the query string is not valid (percent-encode special characters)");
  }
  for (auto param : *params) {
    const std::string name = param.key.decode({true, false, false});
    const std::string value = param.value.decode({true, false, false});
    if (name == "limit") {
      std::uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      const bool too_big = ec == std::errc::result_out_of_range;
      if (value.empty() || ptr != value.data() + value.size() || (ec != std::errc{} && !too_big) ||
          (!too_big && n == 0)) {
        return error(response, 400, "invalid_limit",
                     "limit must be a whole number from 1 (above 1000 it is capped at 1000), "
                     "got " + cache::excerpt(value));
      }
      limit = too_big || n > kMaxLimit ? kMaxLimit : static_cast<std::size_t>(n);
    } else if (name == "cursor" && !value.empty()) {
      const auto cursor = parse_id(value);
      if (!cursor) {
        return error(response, 400, "invalid_cursor",
                     "cursor must be the nextCursor of a previous page, got " + cache::excerpt(value));
      }
      after = *cursor;
    }
  }
  auto page = store_.list(after, limit);
  if (!page) {
    return error(response, page.error());
  }
  cache::JsonWriter writer{response.body};
  writer.begin_object().key("mutexes").begin_array();
  for (const std::string& group : page->groups) {
    writer.raw(group);  // stored as cache::write_group wrote it
  }
  writer.end_array().key("nextCursor");
  if (page->next_after) {
    writer.value(std::to_string(*page->next_after));
  } else {
    writer.null();
  }
  writer.end_object();
}

void Api::get(std::int64_t id, Response& response) {
  auto group = store_.get(id);
  if (!group) {
    return error(response, group.error());
  }
  response.body = std::move(*group);
}

void Api::create(const Request& request, Response& response) {
  auto decoded = decode_create(request.body, options_.limits);
  if (!decoded) {
    return error(response, decoded.error());
  }
  cache::GroupConfig& group = decoded->group;
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
  spdlog::info("msg=\"group created\" id={} key={} slots={}", group.id, cache::quote(group.key),
               group.slots.size());
  const std::string_view host = request.host.empty() ? std::string_view{options_.fallback_host}
                                                     : request.host;
  cache::JsonWriter writer{response.body};
  writer.begin_object()
      .key("id").value(group.id)
      .key("url").value("http://" + std::string{host} + std::string{kCollection} + "/" +
                        std::to_string(group.id))
      .end_object();
}

void Api::edit(std::int64_t id, const Request& request, Response& response) {
  auto decoded = decode_group_edit(request.body, options_.limits);
  if (!decoded) {
    return error(response, decoded.error());
  }
  const GroupEdit& edit = *decoded;
  const char* what = "edited";
  auto stored = store_.update(id, [&](cache::GroupConfig& group, bool& archived)
                                      -> std::optional<ApiError> {
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

void Api::edit_slot(std::int64_t id, std::string_view slot_text, const Request& request,
                    Response& response) {
  const auto index = parse_id(slot_text);
  if (!index || *index < 1) {
    return error(response, 404, "slot_not_found",
                 "slot indexes are integers from 1, got " + cache::excerpt(slot_text));
  }
  auto decoded = decode_slot_edit(request.body, options_.limits);
  if (!decoded) {
    return error(response, decoded.error());
  }
  SlotEdit& edit = *decoded;
  auto stored = store_.update(id, [&](cache::GroupConfig& group, bool& archived)
                                      -> std::optional<ApiError> {
    if (archived) {
      return archived_error(id);
    }
    cache::SlotConfig* slot = nullptr;
    for (cache::SlotConfig& s : group.slots) {
      if (s.index == *index) {
        slot = &s;
      }
    }
    if (slot == nullptr) {
      return ApiError{404, "slot_not_found",
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
