#include "cache/cohort_source.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "cache/http_target.hpp"
#include "common/file.hpp"
#include "common/text.hpp"

namespace mutex_edge::cache {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

/// One answer of the cohort server, or why there is none.
struct Answer {
  unsigned status = 0;  // 0: no answer (see error)
  std::string body;
  std::string error;
};

std::string basic_credentials(const std::string& key, const std::string& secret) {
  const std::string plain = key + ":" + secret;
  std::string encoded(beast::detail::base64::encoded_size(plain.size()), '\0');
  encoded.resize(beast::detail::base64::encode(encoded.data(), plain.data(), plain.size()));
  return "Basic " + encoded;
}

/// Where a cohort's last download is kept under --state-dir.
std::filesystem::path kept_path(const std::string& dir, std::string_view id) {
  return std::filesystem::path{dir} / "cohorts" / (std::string{id} + ".json");
}

/// Only ids a cohort server could answer for go into a path or a file name.
bool safe_id(std::string_view id) {
  return !id.empty() && id.size() <= 256 &&
         std::all_of(id.begin(), id.end(),
                     [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                              c == '~';
                     }) &&
         id != "." && id != "..";
}

}  // namespace

std::string_view to_string(CohortState::Status status) noexcept {
  switch (status) {
    case CohortState::Status::kPending:
      return "pending";
    case CohortState::Status::kReady:
      return "ready";
    case CohortState::Status::kTooLarge:
      return "too_large";
  }
  return "pending";
}

void CohortTable::index() {
  lookups.clear();
  for (const auto& [id, state] : cohorts) {
    if (state->members && state->group_type == "User") {
      lookups.push_back({id, state->members.get()});
    }
  }
}

struct CohortSource::Impl : std::enable_shared_from_this<Impl> {
  net::any_io_executor executor;
  CohortOptions options;
  Callbacks callbacks;
  detail::HttpTarget target;
  std::string name, authorization;
  std::optional<ssl::context> tls;
  net::steady_timer timer;
  bool stopped = true;
  std::set<std::string> wanted;
  std::set<std::string> fresh;      // wanted, not tried yet: fetched before the next round
  std::set<std::string> from_disk;  // loaded from --state-dir, not confirmed by the server yet
  std::shared_ptr<const CohortTable> table = std::make_shared<CohortTable>();

  Impl(net::any_io_executor ex, CohortOptions opts, Callbacks cbs)
      : executor{ex}, options{std::move(opts)}, callbacks{std::move(cbs)}, timer{ex} {}

  void put(std::shared_ptr<const CohortState> state, bool publish = true) {
    auto next = std::make_shared<CohortTable>(*table);
    next->cohorts[state->id] = std::move(state);
    next->index();
    table = std::move(next);
    if (publish && callbacks.publish) {
      callbacks.publish(table);
    }
  }

  void set_wanted(std::vector<std::string> ids) {
    std::set<std::string> next;
    for (std::string& id : ids) {
      if (safe_id(id)) {
        next.insert(std::move(id));
      }
    }
    bool changed = false;
    auto pruned = std::make_shared<CohortTable>();
    for (const auto& [id, state] : table->cohorts) {
      if (next.contains(id)) {
        pruned->cohorts.emplace(id, state);
      } else {
        changed = true;
      }
    }
    for (const std::string& id : next) {
      if (from_disk.erase(id) != 0) {
        fresh.insert(id);  // served from disk: confirm it with the server now
      }
      if (!pruned->cohorts.contains(id)) {
        auto pending = std::make_shared<CohortState>();
        pending->id = id;
        pruned->cohorts.emplace(id, std::move(pending));
        fresh.insert(id);
        changed = true;
      }
    }
    wanted = std::move(next);
    if (changed) {
      pruned->index();
      table = std::move(pruned);
      if (callbacks.publish) {
        callbacks.publish(table);
      }
    }
    if (!fresh.empty()) {
      timer.cancel();  // the poll loop fetches them now
    }
  }

  /// What --state-dir kept of earlier downloads (parsed as they were when received).
  void load_kept() {
    if (options.state_dir.empty()) {
      return;
    }
    std::error_code ec;
    const auto dir = std::filesystem::path{options.state_dir} / "cohorts";
    for (const auto& entry : std::filesystem::directory_iterator{dir, ec}) {
      if (entry.path().extension() != ".json") {
        continue;
      }
      auto body = common::read_file(entry.path(), options.max_body_bytes);
      if (!body) {
        continue;
      }
      auto state = ready_state(std::move(*body));
      if (state && state->id == entry.path().stem().string()) {
        from_disk.insert(state->id);
        put(std::move(state), false);
      }
    }
    if (callbacks.publish && !table->cohorts.empty()) {
      callbacks.publish(table);
    }
  }

  /// A ready state from a 200 body, or null (with `error`) when it does not parse.
  std::shared_ptr<CohortState> ready_state(std::string body, std::string* error = nullptr) {
    auto parsed = parse_cohort_download(body, options.max_cohort_size);
    if (!parsed) {
      if (error != nullptr) {
        *error = parsed.error();
      }
      return nullptr;
    }
    auto state = std::make_shared<CohortState>();
    state->id = parsed->id;
    state->status = CohortState::Status::kReady;
    state->group_type = parsed->group_type.empty() ? "User" : parsed->group_type;
    state->last_modified = parsed->last_modified;
    state->size = parsed->size;
    state->members = std::make_shared<const CohortMembers>(std::move(parsed->members));
    state->fetched_at = std::chrono::system_clock::now();
    if (options.keep_bodies) {
      state->body = std::make_shared<const std::string>(std::move(body));
    }
    return state;
  }

  net::awaitable<Answer> get(std::string path) {
    Answer answer;
    auto fail = [&](beast::error_code ec, const char* during) {
      answer.error = ec == beast::error::timeout ? std::string{"timed out "} + during
                                                 : std::string{during} + ": " + ec.message();
      return answer;
    };
    using Step = detail::Connection::Step;
    detail::Connection connection{executor, target, tls ? &*tls : nullptr};
    Step failed = Step::kConnect;
    if (auto ec = co_await connection.open(options.connect_timeout, failed)) {
      if (failed == Step::kServerName) {
        answer.error = "cannot set the TLS server name";
        co_return answer;
      }
      co_return fail(ec, failed == Step::kConnect ? "connecting to the cohort server"
                                                  : "in the TLS handshake with the cohort server");
    }
    http::request<http::empty_body> request{http::verb::get, path, 11};
    request.set(http::field::host, target.host_header);
    request.set(http::field::user_agent, "mutex-edge");
    request.set(http::field::accept, "application/json");
    request.set(http::field::accept_encoding, "identity");
    request.set(http::field::authorization, authorization);
    request.keep_alive(false);
    connection.expires_after(options.request_timeout);
    if (auto ec = co_await connection.write(request)) {
      co_return fail(ec, "sending the request");
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(detail::kMaxAnswerHeaderBytes);
    parser.body_limit(options.max_body_bytes);
    const auto read_ec = co_await connection.read(buffer, parser);
    connection.close();
    if (read_ec == http::error::body_limit) {
      answer.status = 413;  // larger than any cohort we would serve
      co_return answer;
    }
    if (read_ec) {
      co_return fail(read_ec, "reading the answer");
    }
    answer.status = parser.get().result_int();
    answer.body = std::move(parser.get().body());
    co_return answer;
  }

  net::awaitable<void> fetch(const std::string& id) {
    const auto started = std::chrono::steady_clock::now();
    std::shared_ptr<const CohortState> before =
        table->cohorts.contains(id) ? table->cohorts.at(id) : std::make_shared<const CohortState>();
    boost::urls::url url;
    url.set_path(target.base_path + "/sdk/v1/cohort/" + id);
    url.params().append({"maxCohortSize", std::to_string(options.max_cohort_size)});
    if (before->members) {
      url.params().append({"lastModified", std::to_string(before->last_modified)});
    }
    Answer answer = co_await get(std::string{url.buffer()});
    if (stopped || !wanted.contains(id)) {
      co_return;
    }
    std::string_view result = "failed";
    std::string error;
    if (answer.status == 200) {
      std::string body = std::move(answer.body);
      std::string kept = options.state_dir.empty() ? std::string{} : body;
      if (auto state = ready_state(std::move(body), &error); state && state->id == id) {
        result = "updated";
        put(std::move(state));
        if (!options.state_dir.empty()) {
          if (auto saved = common::write_file_atomically(kept_path(options.state_dir, id), kept);
              !saved) {
            error = saved.error().message;  // served, not kept: the next start downloads it
          }
        }
      } else if (state) {
        error = "the cohort server answered for cohort \"" + state->id + "\"";
      } else if (error.find("over the limit") != std::string::npos) {
        result = "too_large";
      }
    } else if (answer.status == 204 && before->members) {
      result = "not_modified";
      auto state = std::make_shared<CohortState>(*before);
      state->fetched_at = std::chrono::system_clock::now();
      state->error.clear();
      state->status = CohortState::Status::kReady;
      put(std::move(state), false);
    } else if (answer.status == 413) {
      result = "too_large";
    } else if (answer.status != 0) {
      error = "the cohort server answered " + std::to_string(answer.status);
      if (answer.status == 401 || answer.status == 403) {
        error += " (check MUTEX_EDGE_COHORT_API_KEY and MUTEX_EDGE_COHORT_SECRET_KEY)";
      }
    } else {
      error = answer.error;
    }
    if (result == "too_large" || result == "failed") {
      // The last good members stay served; a cohort never downloaded stays without any.
      auto state = std::make_shared<CohortState>(*before);
      state->id = id;
      if (result == "too_large") {
        state->status = CohortState::Status::kTooLarge;
        state->error = "larger than --max-cohort-size (" + std::to_string(options.max_cohort_size) +
                       " members)" + (before->members ? ": the last good members are served" : "");
      } else {
        state->error = error;
      }
      put(std::move(state));
    }
    if (callbacks.polled) {
      callbacks.polled(
          id, result,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  }

  net::awaitable<void> run() {
    auto self = shared_from_this();
    auto next_round = std::chrono::steady_clock::now();
    while (!stopped) {
      std::vector<std::string> batch;
      if (std::chrono::steady_clock::now() >= next_round) {
        batch.assign(wanted.begin(), wanted.end());
        fresh.clear();
        next_round = std::chrono::steady_clock::now() + options.interval;
      } else {
        batch.assign(fresh.begin(), fresh.end());
        fresh.clear();
      }
      for (const std::string& id : batch) {
        if (stopped) {
          co_return;
        }
        co_await fetch(id);
      }
      if (!fresh.empty()) {
        continue;
      }
      timer.expires_at(next_round);
      co_await timer.async_wait(kNoThrow);
    }
  }
};

common::Result<std::unique_ptr<CohortSource>> CohortSource::create(net::any_io_executor executor,
                                                                   CohortOptions options,
                                                                   Callbacks callbacks) {
  using common::Error;
  auto target = detail::parse_target(
      options.url, "--cohort-server",
      "the keys come from MUTEX_EDGE_COHORT_API_KEY and MUTEX_EDGE_COHORT_SECRET_KEY");
  if (!target) {
    return target.error();
  }
  auto impl = std::make_shared<Impl>(executor, std::move(options), std::move(callbacks));
  impl->target = std::move(*target);
  const detail::HttpTarget& t = impl->target;
  impl->name = "cohorts:" + t.scheme + "://" + t.host + ":" + t.port + t.base_path;
  impl->authorization = basic_credentials(impl->options.api_key, impl->options.secret_key);
  if (t.tls) {
    if (auto tls = detail::make_tls(impl->tls, impl->options.ca_file); !tls) {
      return tls.error();
    }
  }
  return std::unique_ptr<CohortSource>{new CohortSource{std::move(impl)}};
}

CohortSource::CohortSource(std::shared_ptr<Impl> impl) : impl_{std::move(impl)} {}

CohortSource::~CohortSource() {
  stop();
}

void CohortSource::want(std::vector<std::string> ids) {
  impl_->set_wanted(std::move(ids));
}

void CohortSource::start() {
  impl_->stopped = false;
  impl_->load_kept();
  net::co_spawn(impl_->executor, impl_->run(), net::detached);
}

void CohortSource::stop() {
  impl_->stopped = true;
  impl_->timer.cancel();
}

const std::string& CohortSource::name() const noexcept {
  return impl_->name;
}

}  // namespace mutex_edge::cache
