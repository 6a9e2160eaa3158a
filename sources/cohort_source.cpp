#include "sources/cohort_source.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include "sources/cohort_download.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/url.hpp>

#include "common/file.hpp"
#include "common/text.hpp"
#include "config/cohorts.hpp"
#include "http/basic_auth.hpp"
#include "http/client.hpp"

namespace mutex_edge::sources {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using cache::CohortMembers;
using cache::CohortState;
using cache::CohortTable;
using std::chrono::milliseconds;

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

/// One answer of the cohort server, or why there is none.
struct Answer {
  unsigned status = 0;  // 0: no answer (see error)
  std::string body;
  std::string error;
};

/// Where a cohort's last download is kept under --state-dir.
std::filesystem::path kept_path(const std::string& dir, std::string_view id) {
  return std::filesystem::path{dir} / "cohorts" / (std::string{id} + ".json");
}

}  // namespace

struct CohortSource::Impl : std::enable_shared_from_this<Impl> {
  net::any_io_executor executor;
  CohortOptions options;
  Callbacks callbacks;
  http::Target target;
  std::string name, authorization;
  std::optional<ssl::context> tls;
  // One connection for every download, kept alive between them (opened on the first).
  std::optional<http::Connection> connection;
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
      if (config::valid_cohort_id(id)) {  // the id goes into a path and a file name
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

  /// GETs `path` on the kept connection; once more on a new one when a reused connection fails
  /// before an answer (the server may have closed it while idle).
  net::awaitable<Answer> get(std::string path) {
    const http::Get request{std::move(path), {{"Authorization", authorization}}};
    Answer answer;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = connection->is_open();
      if (!reused) {
        using Step = http::Connection::Step;
        Step failed = Step::kConnect;
        if (auto ec = co_await connection->open(options.connect_timeout, failed)) {
          answer.error =
              failed == Step::kServerName
                  ? "cannot set the TLS server name"
                  : http::describe(ec, failed == Step::kConnect
                                           ? "connecting to the cohort server"
                                           : "in the TLS handshake with the cohort server");
          co_return answer;
        }
      }
      connection->expires_after(options.request_timeout);
      if (auto ec = co_await connection->write(request)) {
        connection->close();
        answer.error = http::describe(ec, "sending the request");
        if (reused && !stopped) {
          continue;
        }
        co_return answer;
      }
      http::Answer got;
      const auto read_ec = co_await connection->read(options.max_body_bytes, got);
      if (http::is_too_large(read_ec)) {
        connection->close();
        answer.status = 413;  // larger than any cohort we would serve
        co_return answer;
      }
      if (read_ec) {
        connection->close();
        answer.error = http::describe(read_ec, "reading the answer");
        if (reused && !stopped && !http::is_timeout(read_ec)) {
          continue;
        }
        co_return answer;
      }
      answer.status = got.status;
      answer.body = std::move(got.body);
      answer.error.clear();
      co_return answer;
    }
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
  auto target = http::parse_target(
      options.url, "--cohort-server",
      "the keys come from MUTEX_EDGE_COHORT_API_KEY and MUTEX_EDGE_COHORT_SECRET_KEY");
  if (!target) {
    return target.error();
  }
  auto impl = std::make_shared<Impl>(executor, std::move(options), std::move(callbacks));
  impl->target = std::move(*target);
  const http::Target& t = impl->target;
  impl->name = "cohorts:" + t.scheme + "://" + t.host + ":" + t.port + t.base_path;
  impl->authorization = http::basic_authorization(impl->options.api_key, impl->options.secret_key);
  if (t.tls) {
    if (auto tls = http::make_tls(impl->tls, impl->options.ca_file); !tls) {
      return tls.error();
    }
  }
  impl->connection.emplace(impl->executor, impl->target, impl->tls ? &*impl->tls : nullptr);
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
  impl_->connection->close();
}

const std::string& CohortSource::name() const noexcept {
  return impl_->name;
}

}  // namespace mutex_edge::sources
