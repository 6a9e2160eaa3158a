#include "proxy/router.hpp"

#include <charconv>

#include <boost/url/parse_query.hpp>

#include "cache/json_writer.hpp"
#include "proxy/assign_response.hpp"

namespace mutex_edge::proxy {
namespace {

namespace urls = boost::urls;

constexpr std::size_t kMaxQueryParams = 512;
constexpr std::size_t kDefaultPageSize = 100;
constexpr std::size_t kMaxPageSize = 1000;

template <typename Each>
void for_each_item(std::string_view list, Each each) {
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) {
      each(list.substr(start, comma - start));
    }
    start = comma + 1;
  }
}

bool parse_size(std::string_view text, std::size_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && ptr == text.data() + text.size();
}

bool truthy(std::string_view value) { return value == "1" || value == "true" || value.empty(); }

cache::RequestLimits request_limits(const Settings& settings) {
  cache::RequestLimits limits;
  limits.max_users = settings.max_batch_users;
  return limits;
}

}  // namespace

Router::Router(Service& service, metrics::ProxyMetrics& metrics, const Settings& settings,
               std::size_t worker)
    : service_{service},
      metrics_{metrics},
      settings_{settings},
      shard_{metrics.shard(worker)},
      reader_{service.store()},
      decoder_{request_limits(settings)} {}

const ServingState* Router::state_or_503(Response& response) {
  current_ = reader_.get();
  if (current_ == nullptr) {
    http::error(response, 503, "not_ready", "no valid configuration has been loaded yet");
    return nullptr;
  }
  response.header("X-Config-Version", current_->snapshot->version());
  return current_;
}

metrics::Route Router::handle(const Request& request, Response& response) {
  const std::string_view target = request.target;
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);

  auto only = [&](Method allowed, std::string_view allow) {
    if (request.method == allowed) {
      return true;
    }
    response.header("Allow", allow);
    http::error(response, 405, "method_not_allowed",
          std::string{"use "} + std::string{allow} + " on " + std::string{path});
    return false;
  };

  using metrics::Route;
  if (path == "/assign") {
    if (request.method == Method::kGet) {
      assign_get(query, response);
    } else if (request.method == Method::kPost) {
      assign_post(request, response, false);
    } else {
      response.header("Allow", "GET, POST");
      http::error(response, 405, "method_not_allowed", "use GET or POST on /assign");
    }
    return Route::kAssign;
  }
  if (path == "/assign/batch") {
    if (only(Method::kPost, "POST")) {
      assign_post(request, response, true);
    }
    return Route::kAssignBatch;
  }
  if (path == "/api/1/mutexes") {
    if (only(Method::kGet, "GET")) {
      list_mutexes(request, query, response);
    }
    return Route::kMutexList;
  }
  if (path.starts_with("/api/1/mutexes/")) {
    const std::string_view id = path.substr(std::string_view{"/api/1/mutexes/"}.size());
    if (only(Method::kGet, "GET")) {
      get_mutex(request, id, response);
    }
    return Route::kMutexGet;
  }
  if (path == "/healthz") {
    if (only(Method::kGet, "GET")) {
      response.body = R"({"status":"ok"})";
    }
    return Route::kHealthz;
  }
  if (path == "/readyz") {
    if (only(Method::kGet, "GET")) {
      if (service_.ready()) {
        response.body = R"({"ready":true})";
      } else {
        http::error(response, 503, "not_ready",
              service_.draining()         ? "shutting down"
              : !service_.has_snapshot()  ? "no valid configuration has been loaded yet"
                                          : "the configuration is older than --max-staleness");
      }
    }
    return Route::kReadyz;
  }
  if (path == "/status") {
    if (only(Method::kGet, "GET")) {
      response.body = service_.status_json();
    }
    return Route::kStatus;
  }
  if (path == "/metrics") {
    if (only(Method::kGet, "GET")) {
      metrics_text(response);
    }
    return Route::kMetrics;
  }
  http::error(response, 404, "not_found",
        "no such route; try /assign, /assign/batch, /api/1/mutexes, /healthz, /readyz, "
        "/status or /metrics");
  return Route::kUnknown;
}

void Router::select_groups(const cache::Snapshot& snapshot, bool has_keys,
                           const std::vector<std::string_view>& keys) {
  groups_.clear();
  unknown_.clear();
  if (!has_keys) {
    for (std::size_t i = 0; i < snapshot.groups().size(); ++i) {
      groups_.push_back(i);
    }
    return;
  }
  for (std::string_view key : keys) {
    if (auto i = snapshot.find_key(key)) {
      groups_.push_back(*i);
    } else {
      unknown_.push_back(key);
    }
  }
}

boost::system::result<boost::urls::params_encoded_view> Router::parse_query(
    std::string_view query) {
  // Boost.URL 1.81 reads a query's last value up to a NUL or '&', past the end of the view:
  // give it a NUL-terminated copy (the buffer is reused, so this allocates only while growing).
  query_.assign(query);
  return urls::parse_query(query_);
}

void Router::count_assignment(void* self, std::size_t group, int slot) {
  auto& router = *static_cast<Router*>(self);
  router.shard_.record_assignment(router.current_->cell(group, slot));
}

void Router::assign_get(std::string_view query, Response& response) {
  const ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  auto params = parse_query(query);
  if (!params) {
    http::error(response, 400, "invalid_query",
          "the query string is not valid (percent-encode non-ASCII characters): " +
              params.error().message());
    return;
  }
  if (params->size() > kMaxQueryParams) {
    http::error(response, 400, "invalid_query",
          "at most " + std::to_string(kMaxQueryParams) + " query parameters are allowed");
    return;
  }
  // Decode every key and value into one buffer sized up front, so the views stay valid.
  std::size_t needed = 0;
  for (auto param : *params) {
    needed += param.key.decoded_size() + param.value.decoded_size();
  }
  decoded_.clear();
  decoded_.reserve(needed);
  auto decode = [this](urls::pct_string_view text) {
    const std::size_t start = decoded_.size();
    text.decode({true, false, false}, urls::string_token::append_to(decoded_));
    return std::string_view{decoded_}.substr(start);
  };

  eval::User user;
  fields_.clear();
  properties_.clear();
  cohorts_.clear();
  keys_.clear();
  bool has_keys = false, explain = false, any_user_field = false;
  for (auto param : *params) {
    const std::string_view key = decode(param.key);
    const std::string_view value = decode(param.value);
    if (key == "mutex") {
      has_keys = true;
      for_each_item(value, [this](std::string_view k) { keys_.push_back(k); });
    } else if (key == "explain") {
      explain = truthy(value);
    } else if (key == "user_id") {
      user.user_id = value;
      any_user_field = true;
    } else if (key == "device_id") {
      user.device_id = value;
      any_user_field = true;
    } else if (key == "cohort_ids") {
      user.has_cohort_ids = true;
      any_user_field = true;
      for_each_item(value, [this](std::string_view c) { cohorts_.push_back(c); });
    } else if (key.starts_with("gp:") || key.starts_with("user_properties.")) {
      properties_.push_back({key.substr(key.find_first_of(":.") + 1), value});
      any_user_field = true;
    } else if (!key.empty()) {
      fields_.push_back({key, value});
      any_user_field = true;
    }
  }
  if (!any_user_field) {
    http::error(response, 400, "empty_user",
          "give the user in the query: user_id, device_id, amplitude_id, other user fields, "
          "gp:<property> or cohort_ids");
    return;
  }
  user.fields = fields_;
  user.properties = properties_;
  user.cohort_ids = cohorts_;

  const cache::Snapshot& snapshot = *state->snapshot;
  select_groups(snapshot, has_keys, keys_);
  cache::JsonWriter writer{response.body};
  writer.begin_object();
  write_assignments(writer, snapshot, user, groups_, unknown_, explain,
                    {&Router::count_assignment, this});
  writer.end_object();
}

void Router::assign_post(const Request& request, Response& response, bool batch) {
  if (!request.content_type.empty() && !http::is_json(request.content_type)) {
    http::error(response, 415, "unsupported_media_type",
          "send the body as JSON with Content-Type: application/json");
    return;
  }
  const ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  auto parsed = batch ? decoder_.parse_batch(request.body) : decoder_.parse_assign(request.body);
  if (!parsed) {
    http::error(response, parsed.error().code == "too_many_users" ? 413 : 400, parsed.error().code,
          parsed.error().message);
    return;
  }
  const cache::Snapshot& snapshot = *state->snapshot;
  select_groups(snapshot, parsed->has_mutexes, parsed->mutexes);
  const AssignObserver observer{&Router::count_assignment, this};

  if (!batch) {
    auto user = decoder_.user(0);
    if (!user) {
      http::error(response, 400, user.error().code, user.error().message);
      return;
    }
    cache::JsonWriter writer{response.body};
    writer.begin_object();
    write_assignments(writer, snapshot, *user, groups_, unknown_, parsed->explain, observer);
    writer.end_object();
    return;
  }

  cache::JsonWriter writer{response.body};
  writer.begin_object().key("version").value(snapshot.version());
  writer.key("results").begin_array();
  for (std::size_t i = 0; i < parsed->user_count; ++i) {
    writer.begin_object();
    if (auto user = decoder_.user(i)) {
      write_assignment_map(writer, snapshot, *user, groups_, parsed->explain, observer);
    } else {
      writer.key("error").begin_object();
      writer.key("code").value(user.error().code).key("message").value(user.error().message);
      writer.end_object();
    }
    writer.end_object();
  }
  writer.end_array();
  write_unknown(writer, unknown_);
  writer.end_object();
}

void Router::list_mutexes(const Request& request, std::string_view query, Response& response) {
  const ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  std::size_t limit = kDefaultPageSize;
  std::size_t offset = 0;
  auto params = parse_query(query);
  if (!params) {
    http::error(response, 400, "invalid_query",
          "the query string is not valid (percent-encode non-ASCII characters)");
    return;
  }
  for (auto param : *params) {
    const std::string key = param.key.decode();
    const std::string value = param.value.decode();
    if (key == "limit") {
      if (!parse_size(value, limit) || limit == 0) {
        http::error(response, 400, "invalid_limit", "limit must be a whole number from 1 to 1000");
        return;
      }
      limit = std::min(limit, kMaxPageSize);
    } else if (key == "cursor") {
      if (!value.empty() && (!parse_size(value, offset) || offset > state->group_json.size())) {
        http::error(response, 400, "invalid_cursor",
              "cursor must be a nextCursor value from an earlier page of this listing");
        return;
      }
    }
  }
  response.header("ETag", state->etag);
  if (request.if_none_match == state->etag) {
    response.status = 304;
    return;
  }
  const std::size_t end = std::min(state->group_json.size(), offset + limit);
  response.body = R"({"mutexes":[)";
  for (std::size_t i = offset; i < end; ++i) {
    if (i != offset) {
      response.body += ',';
    }
    response.body += state->group_json[i];
  }
  response.body += R"(],"nextCursor":)";
  if (end < state->group_json.size()) {
    response.body += '"' + std::to_string(end) + '"';
  } else {
    response.body += "null";
  }
  response.body += '}';
}

void Router::get_mutex(const Request& request, std::string_view id, Response& response) {
  const ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  std::int64_t number = 0;
  auto [ptr, ec] = std::from_chars(id.data(), id.data() + id.size(), number);
  std::optional<std::size_t> index;
  if (!id.empty() && ec == std::errc{} && ptr == id.data() + id.size()) {
    index = state->snapshot->find_id(number);
  }
  if (!index) {
    http::error(response, 404, "not_found", "no mutex group with id " + std::string{id});
    return;
  }
  response.header("ETag", state->etag);
  if (request.if_none_match == state->etag) {
    response.status = 304;
    return;
  }
  response.body = state->group_json[*index];
}

void Router::metrics_text(Response& response) {
  response.content_type = metrics::kTextContentType;
  response.body = metrics_.render();
}

}  // namespace mutex_edge::proxy
