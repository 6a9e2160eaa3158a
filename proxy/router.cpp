#include "proxy/router.hpp"

#include "common/json_writer.hpp"
#include "config/paging.hpp"
#include "config/serialize.hpp"
#include "proxy/assign_response.hpp"

namespace mutex_edge::proxy {
namespace {

constexpr std::size_t kMaxListParams = 16;

RequestLimits request_limits(const Settings& settings) {
  RequestLimits limits;
  limits.max_users = settings.max_batch_users;
  return limits;
}

}  // namespace

void error(http::Response& response, ErrorCode code, std::string_view message) {
  http::error(response, status_of(code), to_string(code), message);
}

Router::Router(Service& service, EdgeMetrics& metrics, const Settings& settings, std::size_t worker,
               RouteSet routes)
    : service_{service},
      metrics_{metrics},
      settings_{settings},
      worker_{worker},
      routes_{routes},
      reader_{service.store()},
      decoder_{request_limits(settings)} {}

bool Router::authorized(const http::Request& request, http::Response& response) {
  if (!settings_.require_key) {
    return true;
  }
  const http::KeyCheck check = settings_.client_keys.check(request.authorization);
  if (check == http::KeyCheck::kOk) {
    return true;
  }
  response.header("WWW-Authenticate", "Bearer realm=\"mutex-edge\"");
  error(response, ErrorCode::kUnauthorized,
        check == http::KeyCheck::kMissing
            ? "send a client key as Authorization: Bearer <key> (--require-key is on)"
            : "the client key in Authorization is not valid");
  return false;
}

const ServingState* Router::state_or_503(http::Response& response) {
  current_ = reader_.get();
  if (current_ == nullptr) {
    error(response, ErrorCode::kNotReady, "no valid configuration has been loaded yet");
    return nullptr;
  }
  response.header("X-Config-Version", current_->snapshot->version());
  return current_;
}

Route Router::handle(const http::Request& request, http::Response& response) {
  using http::Method;
  const std::string_view target = request.target;
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);

  // HEAD reaches here as GET (the server leaves the body out), so GET routes allow it too.
  auto only = [&](Method allowed, std::string_view allow) {
    if (request.method == allowed) {
      return true;
    }
    response.header("Allow", allow);
    error(response, ErrorCode::kMethodNotAllowed,
          std::string{"use "} + std::string{allow} + " on " + std::string{path});
    return false;
  };
  const bool serving = routes_ != RouteSet::kAdmin;
  const bool admin = routes_ != RouteSet::kServing;

  if (serving && path == "/assign") {
    if (!authorized(request, response)) {
      return Route::kAssign;
    }
    if (request.method == Method::kGet) {
      assign_get(query, response);
    } else if (request.method == Method::kPost) {
      assign_post(request, response, false);
    } else {
      response.header("Allow", "GET, HEAD, POST");
      error(response, ErrorCode::kMethodNotAllowed, "use GET or POST on /assign");
    }
    return Route::kAssign;
  }
  if (serving && path == "/assign/batch") {
    if (authorized(request, response) && only(Method::kPost, "POST")) {
      assign_post(request, response, true);
    }
    return Route::kAssignBatch;
  }
  if (serving && path == "/api/1/mutexes") {
    if (authorized(request, response) && only(Method::kGet, "GET, HEAD")) {
      list_mutexes(request, query, response);
    }
    return Route::kMutexList;
  }
  if (serving && path.starts_with("/api/1/mutexes/")) {
    const std::string_view id = path.substr(std::string_view{"/api/1/mutexes/"}.size());
    if (authorized(request, response) && only(Method::kGet, "GET, HEAD")) {
      get_mutex(request, id, response);
    }
    return Route::kMutexGet;
  }
  if (admin && path == "/healthz") {
    if (only(Method::kGet, "GET, HEAD")) {
      response.body = R"({"status":"ok"})";
    }
    return Route::kHealthz;
  }
  if (admin && path == "/readyz") {
    if (only(Method::kGet, "GET, HEAD")) {
      if (service_.ready()) {
        response.body = R"({"ready":true})";
      } else {
        error(response, ErrorCode::kNotReady,
              service_.draining()        ? "shutting down"
              : !service_.has_snapshot() ? "no valid configuration has been loaded yet"
                                         : "the configuration is older than --max-staleness");
      }
    }
    return Route::kReadyz;
  }
  if (admin && path == "/status") {
    if (only(Method::kGet, "GET, HEAD")) {
      response.body = service_.status_json();
    }
    return Route::kStatus;
  }
  if (admin && path == "/metrics") {
    if (only(Method::kGet, "GET, HEAD")) {
      response.content_type = metrics::kTextContentType;
      response.body = metrics_.render();
    }
    return Route::kMetrics;
  }
  error(response, ErrorCode::kNotFound,
        routes_ == RouteSet::kAll
            ? "no such route; try /assign, /assign/batch, /api/1/mutexes, /healthz, /readyz, "
              "/status or /metrics"
        : serving ? "no such route; try /assign, /assign/batch or /api/1/mutexes (/healthz, "
                    "/readyz, /status and /metrics are on --admin-listen)"
                  : "no such route; this admin listener answers /healthz, /readyz, /status and "
                    "/metrics");
  return Route::kUnknown;
}

void Router::count_assignment(void* self, std::size_t group, int slot) {
  auto& router = *static_cast<Router*>(self);
  router.metrics_.assignment(router.worker_, router.current_->cell(group, slot));
}

void Router::write_answer(const ServingState& state, const AssignRequest& request, bool batch,
                          http::Response& response) {
  const cache::Snapshot& snapshot = *state.snapshot;
  snapshot.select(request.has_mutexes ? std::optional{request.mutexes} : std::nullopt, groups_,
                  unknown_);
  const AssignObserver observer{&Router::count_assignment, this};
  common::JsonWriter writer{response.body};
  if (!batch) {
    auto user = decoder_.user(0);
    if (!user) {
      return error(response, user.error());
    }
    writer.begin_object();
    write_assignments(writer, snapshot, *user, groups_, unknown_, request.explain, observer);
    writer.end_object();
    return;
  }
  writer.begin_object().key("version").value(snapshot.version());
  writer.key("results").begin_array();
  for (std::size_t i = 0; i < request.user_count; ++i) {
    writer.begin_object();
    if (auto user = decoder_.user(i)) {
      write_assignment_map(writer, snapshot, *user, groups_, request.explain, observer);
    } else {
      writer.key("error").begin_object();
      writer.key("code").value(to_string(user.error().code));
      writer.key("message").value(user.error().message);
      writer.end_object();
    }
    writer.end_object();
  }
  writer.end_array();
  write_unknown(writer, unknown_);
  writer.end_object();
}

void Router::assign_get(std::string_view query, http::Response& response) {
  const ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  auto request = decoder_.parse_query(query);
  if (!request) {
    return error(response, request.error());
  }
  write_answer(*state, *request, false, response);
}

void Router::assign_post(const http::Request& request, http::Response& response, bool batch) {
  if (!request.content_type.empty() && !http::is_json(request.content_type)) {
    return error(response, ErrorCode::kUnsupportedMediaType,
                 "send the body as JSON with Content-Type: application/json");
  }
  const ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  auto parsed = batch ? decoder_.parse_batch(request.body) : decoder_.parse_assign(request.body);
  if (!parsed) {
    return error(response, parsed.error());
  }
  write_answer(*state, *parsed, batch, response);
}

void Router::list_mutexes(const http::Request& request, std::string_view query,
                          http::Response& response) {
  const ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  std::string problem;
  if (!query_.parse(query, kMaxListParams, problem)) {
    return error(response, ErrorCode::kInvalidQuery, problem);
  }
  std::size_t limit = config::kDefaultPageSize;
  std::size_t offset = 0;
  for (const http::QueryParams::Param& param : query_.params()) {
    if (param.key == "limit") {
      auto parsed = config::parse_page_limit(param.value);
      if (!parsed) {
        return error(response, ErrorCode::kInvalidLimit, config::kBadLimitMessage);
      }
      limit = *parsed;
    } else if (param.key == "cursor" && !param.value.empty()) {
      auto cursor = config::parse_id(param.value);
      if (!cursor || static_cast<std::uint64_t>(*cursor) > state->snapshot->size()) {
        return error(response, ErrorCode::kInvalidCursor,
                     "cursor must be a nextCursor value from an earlier page of this listing");
      }
      offset = static_cast<std::size_t>(*cursor);
    }
  }
  response.header("ETag", state->etag);
  if (request.if_none_match == state->etag) {
    response.status = 304;
    return;
  }
  const cache::Snapshot& snapshot = *state->snapshot;
  const std::size_t end = std::min(snapshot.size(), offset + limit);
  const std::string next = std::to_string(end);
  common::JsonWriter writer{response.body};
  config::write_list_page(
      writer, end - offset,
      [&](common::JsonWriter& w, std::size_t i) {
        config::write_group(w, snapshot.group(offset + i).to_config());
      },
      end < snapshot.size() ? std::optional<std::string_view>{next} : std::nullopt);
}

void Router::get_mutex(const http::Request& request, std::string_view id,
                       http::Response& response) {
  const ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  std::optional<std::size_t> index;
  if (auto number = config::parse_id(id)) {
    index = state->snapshot->find_id(*number);
  }
  if (!index) {
    return error(response, ErrorCode::kNotFound, "no mutex group with id " + std::string{id});
  }
  response.header("ETag", state->etag);
  if (request.if_none_match == state->etag) {
    response.status = 304;
    return;
  }
  common::JsonWriter writer{response.body};
  config::write_group(writer, state->snapshot->group(*index).to_config());
}

}  // namespace mutex_edge::proxy
