#include "api/router.hpp"

#include <algorithm>
#include <cstdio>

#include "wire/assign_response.hpp"
#include "wire/chain.hpp"

#include <boost/asio/post.hpp>
#include <simdjson.h>

#include "common/json_writer.hpp"
#include "common/text.hpp"
#include "config/paging.hpp"
#include "config/serialize.hpp"
#include "http/basic_auth.hpp"
#include "http/etag.hpp"
#include "metrics/exposition.hpp"

namespace mutex_edge::api {
namespace {

constexpr std::size_t kMaxListParams = 16;

wire::RequestLimits request_limits(const ApiOptions& options) {
  wire::RequestLimits limits;
  limits.max_users = options.max_batch_users;
  return limits;
}

}  // namespace

std::vector<std::string> captured_headers() {
  return {kCapturedHeaders.begin(), kCapturedHeaders.end()};
}

void error(http::Response& response, wire::ErrorCode code, std::string_view message) {
  http::error(response, wire::status_of(code), to_string(code), message);
}

Router::Router(serving::Service& service, serving::EdgeMetrics& metrics, const ApiOptions& options,
               std::size_t worker, serving::RouteSet routes)
    : service_{service},
      metrics_{metrics},
      options_{options},
      worker_{worker},
      routes_{routes},
      reader_{service.store()},
      cohort_reader_{service.cohort_store()},
      decoder_{request_limits(options)},
      watchers_{[this](Watchers::Held& held) {
        // A held watch request: answered from the state served now (a 304 if it is the same).
        held.response->reset();
        current_ = reader_.get();
        list_page(held.etag, held.query, *held.response);
        service_.release_watcher();
        deferred_route_ = serving::Route::kMutexList;
        held.end(http::Outcome::kRespond);
      }} {}

void Router::refresh() {
  current_ = reader_.get();
  if (watchers_.size() != 0 && current_ != nullptr) {
    watchers_.changed(current_->etag);
  }
}

bool Router::authorized(const http::Request& request, http::Response& response) {
  if (!options_.require_key) {
    return true;
  }
  const http::KeyCheck check = options_.client_keys.check(request.authorization);
  if (check == http::KeyCheck::kOk) {
    return true;
  }
  response.header("WWW-Authenticate", "Bearer realm=\"mutex-edge\"");
  error(response, wire::ErrorCode::kUnauthorized,
        check == http::KeyCheck::kMissing
            ? "send a client key as Authorization: Bearer <key> (--require-key is on)"
            : "the client key in Authorization is not valid");
  return false;
}

const serving::ServingState* Router::state_or_503(http::Response& response) {
  current_ = reader_.get();
  if (current_ == nullptr) {
    error(response, wire::ErrorCode::kNotReady, "no valid configuration has been loaded yet");
    return nullptr;
  }
  response.header("X-Config-Version", current_->snapshot->version());
  return current_;
}

serving::Route Router::handle(const http::Request& request, http::Response& response,
                              http::Exchange* exchange) {
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
    error(response, wire::ErrorCode::kMethodNotAllowed,
          std::string{"use "} + std::string{allow} + " on " + std::string{path});
    return false;
  };
  const bool serving = routes_ != serving::RouteSet::kAdmin;
  const bool admin = routes_ != serving::RouteSet::kServing;

  if (serving && path == "/assign") {
    if (!authorized(request, response)) {
      return serving::Route::kAssign;
    }
    if (request.method == Method::kGet) {
      assign_get(query, response);
    } else if (request.method == Method::kPost) {
      assign_post(request, response, false);
    } else {
      response.header("Allow", "GET, HEAD, POST");
      error(response, wire::ErrorCode::kMethodNotAllowed, "use GET or POST on /assign");
    }
    return serving::Route::kAssign;
  }
  if (serving && path == "/assign/batch") {
    if (authorized(request, response) && only(Method::kPost, "POST")) {
      assign_post(request, response, true);
    }
    return serving::Route::kAssignBatch;
  }
  if (serving && path == "/api/1/mutexes") {
    if (authorized(request, response) && only(Method::kGet, "GET, HEAD")) {
      list_mutexes(request, query, response, exchange);
    }
    return serving::Route::kMutexList;
  }
  if (serving && path.starts_with("/api/1/mutexes/")) {
    const std::string_view id = path.substr(std::string_view{"/api/1/mutexes/"}.size());
    if (authorized(request, response) && only(Method::kGet, "GET, HEAD")) {
      get_mutex(request, id, response);
    }
    return serving::Route::kMutexGet;
  }
  if (serving && path == "/sdk/v2/flags") {
    if (sdk_authorized(request, response) && only(Method::kGet, "GET, HEAD")) {
      sdk_flags(request, response, exchange);
    }
    return serving::Route::kSdkFlags;
  }
  if (serving && path == "/sdk/v2/vardata") {
    if (!sdk_authorized(request, response)) {
      return serving::Route::kSdkVardata;
    }
    if (request.method == Method::kGet || request.method == Method::kPost) {
      sdk_vardata(request, query, response);
    } else {
      response.header("Allow", "GET, HEAD, POST");
      error(response, wire::ErrorCode::kMethodNotAllowed, "use GET or POST on /sdk/v2/vardata");
    }
    return serving::Route::kSdkVardata;
  }
  if (serving && path.starts_with("/sdk/v1/cohort/")) {
    const std::string_view id = path.substr(std::string_view{"/sdk/v1/cohort/"}.size());
    if (only(Method::kGet, "GET, HEAD")) {
      sdk_cohort(request, id, query, response);
    }
    return serving::Route::kSdkCohort;
  }
  if (admin && path == "/healthz") {
    if (only(Method::kGet, "GET, HEAD")) {
      response.body = R"({"status":"ok"})";
    }
    return serving::Route::kHealthz;
  }
  if (admin && path == "/readyz") {
    if (only(Method::kGet, "GET, HEAD")) {
      if (service_.ready()) {
        response.body = R"({"ready":true})";
      } else {
        error(response, wire::ErrorCode::kNotReady,
              service_.draining()        ? "shutting down"
              : !service_.has_snapshot() ? "no valid configuration has been loaded yet"
                                         : "the configuration is older than --max-staleness");
      }
    }
    return serving::Route::kReadyz;
  }
  if (admin && path == "/status") {
    if (only(Method::kGet, "GET, HEAD")) {
      response.body = service_.status_json();
    }
    return serving::Route::kStatus;
  }
  if (admin && path == "/metrics") {
    if (only(Method::kGet, "GET, HEAD")) {
      response.content_type = metrics::kTextContentType;
      response.body = metrics_.render();
    }
    return serving::Route::kMetrics;
  }
  error(response, wire::ErrorCode::kNotFound,
        routes_ == serving::RouteSet::kAll
            ? "no such route; try /assign, /assign/batch, /api/1/mutexes, /sdk/v2/flags, "
              "/sdk/v2/vardata, /healthz, /readyz, /status or /metrics"
        : serving ? "no such route; try /assign, /assign/batch, /api/1/mutexes, /sdk/v2/flags or "
                    "/sdk/v2/vardata (/healthz, /readyz, /status and /metrics are on "
                    "--admin-listen)"
                  : "no such route; this admin listener answers /healthz, /readyz, /status and "
                    "/metrics");
  return serving::Route::kUnknown;
}

void Router::count_assignment(void* self, std::size_t group, int slot) {
  auto& router = *static_cast<Router*>(self);
  router.metrics_.assignment(router.worker_, router.current_->cell(group, slot));
}

void Router::write_answer(const serving::ServingState& state, const wire::AssignRequest& request,
                          bool batch, http::Response& response) {
  const cache::Snapshot& snapshot = *state.snapshot;
  snapshot.select(request.has_mutexes ? std::optional{request.mutexes} : std::nullopt, groups_,
                  unknown_);
  const wire::AssignObserver observer{&Router::count_assignment, this};
  common::JsonWriter writer{response.body};
  if (!batch) {
    auto user = decoder_.user(0);
    if (!user) {
      return error(response, user.error());
    }
    add_synced_cohorts(*user);
    writer.begin_object();
    wire::write_assignments(writer, snapshot, *user, groups_, unknown_, request.explain, observer);
    writer.end_object();
    return;
  }
  writer.begin_object().key("version").value(snapshot.version());
  writer.key("results").begin_array();
  for (std::size_t i = 0; i < request.user_count; ++i) {
    writer.begin_object();
    if (auto user = decoder_.user(i)) {
      add_synced_cohorts(*user);
      wire::write_assignment_map(writer, snapshot, *user, groups_, request.explain, observer);
    } else {
      writer.error_member(to_string(user.error().code), user.error().message);
    }
    writer.end_object();
  }
  writer.end_array();
  wire::write_unknown(writer, unknown_);
  writer.end_object();
}

void Router::assign_get(std::string_view query, http::Response& response) {
  const serving::ServingState* state = state_or_503(response);
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
    return error(response, wire::ErrorCode::kUnsupportedMediaType,
                 "send the body as JSON with Content-Type: application/json");
  }
  const serving::ServingState* state = state_or_503(response);
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
                          http::Response& response, http::Exchange* exchange) {
  list_page(request.if_none_match, query, response);
  // `If-None-Match: *` matches every listing, so no change could end its wait: never held.
  if (response.status != 304 || exchange == nullptr || !service_.holds_watchers() ||
      request.captured.size() <= kPreferHeader || service_.draining() ||
      common::trim(request.if_none_match) == "*") {
    return;
  }
  const std::optional<std::chrono::seconds> wait = preferred_wait(request.captured[kPreferHeader]);
  if (!wait) {
    return;
  }
  // A watch: nothing changed yet, so the answer waits for a change (or the end of the wait).
  if (!service_.hold_watcher()) {
    response.reset();
    response.header("Retry-After", "1");
    http::error(response, 503, "too_many_watchers",
                "this instance holds --max-watchers watch requests already; poll, or retry");
    return;
  }
  response.reset();
  watchers_.hold(*exchange, response, std::string{request.if_none_match}, std::string{query},
                 *wait);
}

void Router::list_page(std::string_view if_none_match, std::string_view query,
                       http::Response& response) {
  const serving::ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  const cache::Snapshot& snapshot = *state->snapshot;
  // Only mutex-edge's read API sends these: a mutex-edge polling this one watches it, and
  // learns where the configuration came from.
  if (service_.holds_watchers()) {
    response.header(wire::kWatchHeader, static_cast<std::uint64_t>(kMaxWatchWait.count()));
  }
  response.header(wire::kOriginTimeHeader,
                  static_cast<std::uint64_t>(std::max<std::int64_t>(
                      0, std::chrono::duration_cast<std::chrono::milliseconds>(
                             snapshot.origin().origin_at.time_since_epoch())
                             .count())));
  response.header(wire::kChainDepthHeader, std::uint64_t{snapshot.origin().depth});
  response.header("ETag", state->etag);
  std::string problem;
  if (!query_.parse(query, kMaxListParams, problem)) {
    return error(response, wire::ErrorCode::kInvalidQuery, problem);
  }
  // Cursors name the listing's version (its content hash) and an offset, "<hash>.<offset>":
  // every page of one listing comes from one version, and a page of another is refused (with
  // the ETag now served, so that a client starts again). A bare offset (an older mutex-edge's
  // cursor) is still accepted.
  const common::Hex64 version = common::hex64(snapshot.content_hash());
  std::size_t limit = config::kDefaultPageSize;
  std::size_t offset = 0;
  for (const common::QueryParams::Param& param : query_.params()) {
    if (param.key == "limit") {
      auto parsed = config::parse_page_limit(param.value);
      if (!parsed) {
        return error(response, wire::ErrorCode::kInvalidLimit, config::kBadLimitMessage);
      }
      limit = *parsed;
    } else if (param.key == "cursor" && !param.value.empty()) {
      std::string_view at = param.value;
      if (const std::size_t dot = at.find('.'); dot != std::string_view::npos) {
        if (at.substr(0, dot) != version.view()) {
          return error(response, wire::ErrorCode::kInvalidCursor,
                       "the listing changed since this cursor's page was served: start again "
                       "from the first page");
        }
        at = at.substr(dot + 1);
      }
      auto cursor = config::parse_id(at);
      if (!cursor || static_cast<std::uint64_t>(*cursor) > snapshot.size()) {
        return error(response, wire::ErrorCode::kInvalidCursor,
                     "cursor must be a nextCursor value from an earlier page of this listing");
      }
      offset = static_cast<std::size_t>(*cursor);
    }
  }
  if (http::etag_matches(if_none_match, state->etag)) {
    response.status = 304;
    return;
  }
  const std::size_t end = std::min(snapshot.size(), offset + limit);
  std::string next{version.view()};
  next += '.';
  next += std::to_string(end);
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
  const serving::ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  std::optional<std::size_t> index;
  if (auto number = config::parse_id(id)) {
    index = state->snapshot->find_id(*number);
  }
  if (!index) {
    return error(response, wire::ErrorCode::kNotFound, "no mutex group with id " + std::string{id});
  }
  response.header("ETag", state->etag);
  if (http::etag_matches(request.if_none_match, state->etag)) {
    response.status = 304;
    return;
  }
  common::JsonWriter writer{response.body};
  config::write_group(writer, state->snapshot->group(*index).to_config());
}

bool Router::sdk_authorized(const http::Request& request, http::Response& response) {
  const http::BearerKeys* keys = !options_.sdk_keys.empty() ? &options_.sdk_keys
                                 : options_.require_key     ? &options_.client_keys
                                                            : nullptr;
  if (keys == nullptr) {
    return true;
  }
  const http::KeyCheck check = keys->check(request.authorization, "api-key");
  if (check == http::KeyCheck::kOk) {
    return true;
  }
  response.header("WWW-Authenticate", "Api-Key realm=\"mutex-edge\"");
  const bool deployment = keys == &options_.sdk_keys;
  error(response, wire::ErrorCode::kUnauthorized,
        check == http::KeyCheck::kMissing
            ? (deployment ? "send a deployment key as Authorization: Api-Key <key> (the SDK's "
                            "apiKey; MUTEX_EDGE_SDK_KEYS lists them)"
                          : "send a client key as Authorization: Api-Key <key> (the SDK's "
                            "apiKey; --require-key is on)")
            : (deployment ? "the deployment key in Authorization is not valid"
                          : "the client key in Authorization is not valid"));
  return false;
}

namespace {

/// Fills a GET /sdk/v2/flags answer from `flags`.
void answer_flags(const wire::SdkFlags& flags, std::string_view if_none_match,
                  std::string_view accept_encoding, http::Response& response) {
  response.header("ETag", flags.etag);
  response.header("Vary", "Accept-Encoding");
  if (http::etag_matches(if_none_match, flags.etag)) {
    response.status = 304;
    return;
  }
  if (flags.gzip && wire::accepts_gzip(accept_encoding)) {
    response.header("Content-Encoding", "gzip");
    response.shared_body = flags.gzip;
  } else {
    response.shared_body = flags.body;
  }
}

}  // namespace

void Router::sdk_flags(const http::Request& request, http::Response& response,
                       http::Exchange* exchange) {
  const serving::ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  if (state->sdk_flags) {
    return answer_flags(*state->sdk_flags, request.if_none_match, request.accept_encoding,
                        response);
  }
  // The first SDK to ask for this configuration's flags: they are built on the sources' thread
  // (never on this worker), and the answer waits for them.
  if (exchange == nullptr) {
    std::shared_ptr<const wire::SdkFlags> built;
    service_.sdk_flags(
        [&built](std::shared_ptr<const wire::SdkFlags> flags) { built = std::move(flags); });
    if (!built) {
      return error(response, wire::ErrorCode::kNotReady,
                   "no valid configuration has been loaded yet");
    }
    return answer_flags(*built, request.if_none_match, request.accept_encoding, response);
  }
  auto end = exchange->defer();
  service_.sdk_flags([end = std::move(end), executor = exchange->executor(), &response,
                      if_none_match = std::string{request.if_none_match},
                      accept_encoding = std::string{request.accept_encoding}](
                         std::shared_ptr<const wire::SdkFlags> flags) mutable {
    boost::asio::post(executor, [end = std::move(end), flags = std::move(flags), &response,
                                 if_none_match = std::move(if_none_match),
                                 accept_encoding = std::move(accept_encoding)] {
      if (flags) {
        answer_flags(*flags, if_none_match, accept_encoding, response);
      } else {
        error(response, wire::ErrorCode::kNotReady, "no valid configuration has been loaded yet");
      }
      end(http::Outcome::kRespond);
    });
  });
}

bool Router::sdk_flag_keys(const http::Request& request, std::string_view query,
                           http::Response& response) {
  sdk_key_store_.clear();
  sdk_keys_.clear();
  const std::size_t max_keys = options_.max_batch_users > 1000 ? options_.max_batch_users : 1000;
  bool named = false;
  if (request.captured.size() > kAmpFlagKeysHeader &&
      !request.captured[kAmpFlagKeysHeader].empty()) {
    named = true;
    sdk_keys_text_.clear();
    if (!common::decode_base64(common::trim(request.captured[kAmpFlagKeysHeader]),
                               sdk_keys_text_)) {
      error(response, wire::ErrorCode::kInvalidRequest,
            "X-Amp-Exp-Flag-Keys must be base64 (standard or URL-safe) of a JSON array of flag "
            "keys");
      return false;
    }
    thread_local simdjson::dom::parser parser;
    simdjson::dom::array keys;
    if (parser.parse(sdk_keys_text_).get_array().get(keys) != simdjson::SUCCESS) {
      error(response, wire::ErrorCode::kInvalidRequest,
            "X-Amp-Exp-Flag-Keys must hold a JSON array of flag keys (strings)");
      return false;
    }
    for (simdjson::dom::element key : keys) {
      std::string_view text;
      if (key.get_string().get(text) != simdjson::SUCCESS) {
        error(response, wire::ErrorCode::kInvalidRequest,
              "X-Amp-Exp-Flag-Keys must hold a JSON array of flag keys (strings)");
        return false;
      }
      sdk_key_store_.emplace_back(text);
    }
  }
  if (!query.empty()) {
    std::string problem;
    if (!query_.parse(query, kMaxListParams, problem)) {
      error(response, wire::ErrorCode::kInvalidQuery, problem);
      return false;
    }
    for (const common::QueryParams::Param& param : query_.params()) {
      if (param.key != "flag_key" && param.key != "flag_keys") {
        continue;  // v, eval_mode, delivery_method: nothing to choose here
      }
      named = true;
      common::for_each_item(param.value, ',', [&](std::string_view key) {
        if (!key.empty()) {
          sdk_key_store_.emplace_back(key);
        }
      });
    }
  }
  if (sdk_key_store_.size() > max_keys) {
    error(response, wire::ErrorCode::kInvalidRequest,
          "a request may name at most " + std::to_string(max_keys) + " flag keys");
    return false;
  }
  sdk_named_ = named;
  sdk_keys_.assign(sdk_key_store_.begin(), sdk_key_store_.end());
  return true;
}

void Router::sdk_vardata(const http::Request& request, std::string_view query,
                         http::Response& response) {
  const serving::ServingState* state = state_or_503(response);
  if (state == nullptr) {
    return;
  }
  if (!sdk_flag_keys(request, query, response)) {
    return;
  }
  // The user: the body of a POST, else X-Amp-Exp-User (base64 of its JSON).
  std::string_view json;
  const std::string_view header = request.captured.size() > kAmpUserHeader
                                      ? common::trim(request.captured[kAmpUserHeader])
                                      : std::string_view{};
  if (request.method == http::Method::kPost && !request.body.empty()) {
    if (!request.content_type.empty() && !http::is_json(request.content_type)) {
      return error(response, wire::ErrorCode::kUnsupportedMediaType,
                   "send the user as JSON with Content-Type: application/json");
    }
    json = request.body;
  } else if (!header.empty()) {
    sdk_user_.clear();
    if (!common::decode_base64(header, sdk_user_)) {
      return error(response, wire::ErrorCode::kInvalidUser,
                   "X-Amp-Exp-User must be base64 (standard or URL-safe, padded or not) of the "
                   "user's JSON object");
    }
    json = sdk_user_;
  } else {
    return error(response, wire::ErrorCode::kInvalidUser,
                 "no user: send it as X-Amp-Exp-User (base64 of its JSON object) or as the JSON "
                 "body of a POST");
  }
  auto parsed = decoder_.parse_user(json);
  if (!parsed) {
    return error(response, parsed.error());
  }
  auto user = decoder_.user(0);
  if (!user) {
    return error(response, user.error());
  }
  add_synced_cohorts(*user);
  const cache::Snapshot& snapshot = *state->snapshot;
  snapshot.select(
      sdk_named_ ? std::optional{std::span<const std::string_view>{sdk_keys_}} : std::nullopt,
      groups_, unknown_);
  const eval::UserKeys keys{*user};
  common::JsonWriter writer{response.body};
  writer.begin_object();
  for (const std::size_t group : groups_) {
    const cache::GroupEntry& entry = snapshot.group(group);
    const eval::Assignment assignment = entry.compiled().assign(*user, keys);
    metrics_.assignment(worker_, state->cell(group, assignment.slot));
    wire::write_sdk_variant(writer, entry, assignment);
  }
  writer.end_object();
}

void Router::add_synced_cohorts(eval::User& user) {
  const cache::CohortTable* table = cohort_reader_.get();
  if (table == nullptr || table->lookups.empty() || !user.user_id || user.user_id->empty()) {
    return;
  }
  const std::uint64_t key = cache::CohortMembers::key(*user.user_id);
  cohort_ids_.assign(user.cohort_ids.begin(), user.cohort_ids.end());
  const std::size_t given = cohort_ids_.size();
  for (const cache::CohortTable::Lookup& lookup : table->lookups) {
    if (lookup.members->contains(key)) {
      cohort_ids_.push_back(lookup.id);
    }
  }
  if (cohort_ids_.size() != given) {
    user.cohort_ids = cohort_ids_;
    user.has_cohort_ids = true;
  }
}

void Router::sdk_cohort(const http::Request& request, std::string_view id, std::string_view query,
                        http::Response& response) {
  // Amplitude's SDKs send Basic base64(apiKey:secretKey): the apiKey is checked as a deployment
  // key (or a client key with --require-key); the secret is not ours to know.
  const http::BearerKeys* keys = !options_.sdk_keys.empty() ? &options_.sdk_keys
                                 : options_.require_key     ? &options_.client_keys
                                                            : nullptr;
  if (keys != nullptr) {
    const auto credentials = http::parse_basic(request.authorization);
    if (!credentials || !keys->accepts(credentials->user)) {
      response.header("WWW-Authenticate", "Basic realm=\"mutex-edge\"");
      return error(response, wire::ErrorCode::kUnauthorized,
                   credentials ? "the cohort API key in Authorization is not valid"
                               : "send Authorization: Basic base64(apiKey:secretKey), the apiKey "
                                 "a deployment key (MUTEX_EDGE_SDK_KEYS)");
    }
  }
  if (!options_.serve_cohorts) {
    return error(response, wire::ErrorCode::kNotFound,
                 "cohorts are not served here: start mutex-edge with --cohort-server and "
                 "--serve-cohorts");
  }
  std::string problem;
  if (!query_.parse(query, kMaxListParams, problem)) {
    return error(response, wire::ErrorCode::kInvalidQuery, problem);
  }
  std::optional<std::int64_t> max_size;
  std::optional<std::int64_t> last_modified;
  for (const common::QueryParams::Param& param : query_.params()) {
    if (param.key != "maxCohortSize" && param.key != "lastModified") {
      continue;
    }
    const auto number = config::parse_id(param.value);
    if (!number) {
      return error(response, wire::ErrorCode::kInvalidQuery,
                   std::string{param.key} + " must be a non-negative integer");
    }
    (param.key == "maxCohortSize" ? max_size : last_modified) = *number;
  }
  const cache::CohortTable* table = cohort_reader_.get();
  const cache::CohortState* cohort = nullptr;
  if (table != nullptr) {
    if (const auto it = table->cohorts.find(id); it != table->cohorts.end()) {
      cohort = it->second.get();
    }
  }
  if (cohort == nullptr) {
    return error(response, wire::ErrorCode::kNotFound,
                 "no served slot references cohort " + common::excerpt(id));
  }
  if (!cohort->body) {
    response.header("Retry-After", "1");
    std::string message = "cohort " + common::excerpt(id) + " is not downloaded yet";
    if (!cohort->error.empty()) {
      message += ": ";
      message += cohort->error;
    }
    return error(response, wire::ErrorCode::kNotReady, message);
  }
  if (last_modified && cohort->last_modified <= *last_modified) {
    response.status = 204;
    return;
  }
  if (max_size && static_cast<std::int64_t>(cohort->size) > *max_size) {
    return error(response, wire::ErrorCode::kCohortTooLarge,
                 "cohort " + common::excerpt(id) + " has " + std::to_string(cohort->size) +
                     " members, more than maxCohortSize");
  }
  response.shared_body = cohort->body;
}

}  // namespace mutex_edge::api
