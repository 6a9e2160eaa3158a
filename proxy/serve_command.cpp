#include "proxy/serve_command.hpp"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

#include "api/router.hpp"
#include "serving/edge_metrics.hpp"
#include "serving/service.hpp"
#include "sources/cohort_source.hpp"
#include "sources/file_source.hpp"
#include "sources/persistence.hpp"
#include "sources/upstream_source.hpp"
#include <malloc.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "common/log.hpp"
#include "http/server.hpp"
#include "proxy/settings.hpp"

namespace mutex_edge::proxy {
namespace {

namespace net = boost::asio;
using cache::SourceKind;
using common::quote;

/// Gives freed memory back to the system (glibc keeps freed heap pages otherwise): after a
/// snapshot build freed its parsed pages, and after a replaced snapshot was destroyed.
void release_free_memory() {
  ::malloc_trim(0);
}

/// What the Service takes of the settings.
serving::ServiceOptions service_options(const Settings& settings) {
  serving::ServiceOptions options;
  options.config_file = settings.config_file;
  options.assignment_metrics = settings.assignment_metrics;
  options.assignment_metrics_max_series = settings.assignment_metrics_max_series;
  options.allow_empty_config = settings.allow_empty_config;
  options.warn_moved_share = settings.warn_moved_share;
  options.max_watchers = settings.max_watchers;
  options.max_staleness = settings.max_staleness;
  return options;
}

/// What the HTTP API takes of the settings.
api::ApiOptions api_options(const Settings& settings) {
  api::ApiOptions options;
  options.require_key = settings.require_key;
  options.client_keys = settings.client_keys;
  options.sdk_keys = settings.sdk_keys;
  options.max_batch_users = settings.max_batch_users;
  options.serve_cohorts = settings.serve_cohorts;
  return options;
}

/// Whichever source feeds the service: started after the server listens, stopped on shutdown.
struct Source {
  std::string name;
  std::function<void()> start;
  std::function<void()> stop;
};

/// The limits of a served configuration; groups the service already serves unchanged are not
/// decoded again.
config::ParseOptions parse_options(const Settings& settings, const serving::Service& service) {
  config::ParseOptions options;
  options.limits.max_document_bytes = settings.max_config_bytes;
  options.limits.max_groups = settings.max_groups;
  options.known = [&service](const common::Digest& digest) { return service.knows(digest); };
  return options;
}

/// --config-file: the file must be usable at start. Runs on `sync`, the thread that builds.
std::optional<Source> file_source(const Settings& settings, net::io_context& sync,
                                  serving::Service& service,
                                  std::unique_ptr<sources::FileSource>& holder) {
  const std::string name = "file:" + settings.config_file;
  sources::FileSource::Callbacks callbacks;
  callbacks.loaded = [&service, name](config::ListPage page,
                                      std::chrono::steady_clock::duration read) {
    service.apply(std::move(page), SourceKind::kFile, name, std::chrono::system_clock::now(), read);
    release_free_memory();
  };
  callbacks.unchanged = [&service] { service.record_unchanged(); };
  callbacks.failed = [&service, name](const std::string& error) {
    service.record_failure(SourceKind::kFile, name, error);
  };
  holder = std::make_unique<sources::FileSource>(
      sync.get_executor(), settings.config_file, settings.config_reload_interval,
      parse_options(settings, service), std::move(callbacks));
  if (!holder->load()) {
    std::cerr << "mutex-edge: cannot start: the config file cannot be used (see the log line "
                 "above)\n";
    return std::nullopt;
  }
  auto* source = holder.get();
  return Source{name, [source] { source->start(); }, [source] { source->stop(); }};
}

/// --upstream: serves the persisted copy (if any) at once, then polls, on `sync`.
std::optional<Source> upstream_source(const Settings& settings, net::io_context& sync,
                                      serving::Service& service, serving::EdgeMetrics& metrics,
                                      std::unique_ptr<sources::UpstreamSource>& holder) {
  sources::UpstreamOptions options;
  options.url = settings.upstream;
  options.api_key = settings.api_key;
  options.interval = settings.poll_interval;
  options.jitter = settings.poll_jitter;
  options.failure_interval = settings.poll_failure_interval;
  options.backoff_max = settings.poll_backoff_max;
  options.connect_timeout = settings.connect_timeout;
  options.request_timeout = settings.upstream_timeout;
  options.ca_file = settings.ca_file;
  options.parse = parse_options(settings, service);
  options.max_listing_bytes = settings.max_upstream_bytes;

  auto persist = [&settings, &service](const std::string& source) {
    if (settings.state_dir.empty()) {
      return;
    }
    auto state = service.store().load();
    auto saved = sources::save_config(settings.state_dir, *state->snapshot, source,
                                      state->snapshot->origin().loaded_at);
    if (!saved) {
      spdlog::error("msg=\"cannot persist the config\" error={}", quote(saved.error().message));
    }
  };
  // The callbacks run on the sync thread while `holder` owns the source.
  auto name = [&holder] { return holder->name(); };
  auto origin = [&holder] { return holder->origin(); };
  auto created = sources::UpstreamSource::create(
      sync.get_executor(), options,
      sources::UpstreamSource::Callbacks{
          .loaded =
              [&service, persist, name, origin](config::ListPage page,
                                                std::chrono::steady_clock::duration fetch) {
                const serving::Service::Applied applied =
                    service.apply(std::move(page), SourceKind::kUpstream, name(),
                                  std::chrono::system_clock::now(), fetch, origin());
                if (applied == serving::Service::Applied::kPublished) {
                  persist(name());
                }
                release_free_memory();
                return applied == serving::Service::Applied::kPublished
                           ? cache::PollOutcome::kUpdated
                       : applied == serving::Service::Applied::kUnchanged
                           ? cache::PollOutcome::kUnchanged
                           : cache::PollOutcome::kInvalidResponse;
              },
          .not_modified = [&service] { service.record_unchanged(); },
          .failed =
              [&service, name](cache::PollOutcome outcome, const std::string& error) {
                service.record_failure(SourceKind::kUpstream, name(), error, to_string(outcome));
              },
          .finished =
              [&metrics, &service, &holder](const cache::PollReport& report) {
                metrics.poll_finished(report);
                service.set_watching(holder->watching());
              }});
  if (!created) {
    std::cerr << "mutex-edge: " << created.error().message << '\n';
    return std::nullopt;
  }
  holder = std::move(*created);

  if (!settings.state_dir.empty()) {
    const auto path = sources::persisted_path(settings.state_dir);
    const auto started = std::chrono::steady_clock::now();
    if (auto persisted =
            sources::load_config(settings.state_dir, parse_options(settings, service))) {
      service.apply(std::move(persisted->page), SourceKind::kPersisted,
                    "persisted:" + persisted->source, persisted->fetched_at,
                    std::chrono::steady_clock::now() - started,
                    cache::ChainOrigin{persisted->origin_at, persisted->depth});
      release_free_memory();
    } else if (std::filesystem::exists(path)) {
      service.record_failure(SourceKind::kPersisted, "persisted:" + path.string(),
                             persisted.error().message);
    } else {
      spdlog::info("msg=\"no persisted config yet: not ready until the first poll\" path={}",
                   quote(path.string()));
    }
  }
  auto* source = holder.get();
  return Source{source->name(), [source] { source->start(); }, [source] { source->stop(); }};
}

/// The thread that reads the sources and builds snapshots, so that neither accepting
/// connections (the control thread) nor serving (the workers) ever waits on a build.
class SyncThread {
 public:
  static constexpr int kSyncNice = 10;

  SyncThread() : guard_{net::make_work_guard(ioc_)} {}
  ~SyncThread() { stop(); }
  SyncThread(const SyncThread&) = delete;
  SyncThread& operator=(const SyncThread&) = delete;

  [[nodiscard]] net::io_context& context() noexcept { return ioc_; }
  void start() {
    thread_ = std::thread{[this] {
      // Below the workers: on a busy machine a build waits for CPU, answers do not. (Linux
      // gives each thread its own nice value; failing to set it changes nothing else.)
      (void)::pthread_setname_np(::pthread_self(), "mutex-edge-sync");
      (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kSyncNice);
      ioc_.run();
    }};
  }
  /// Runs `work` on the thread and waits for it (or runs it here if the thread is not running).
  void run(const std::function<void()>& work) {
    if (!thread_.joinable()) {
      work();
      return;
    }
    std::promise<void> done;
    net::post(ioc_, [&] {
      work();
      done.set_value();
    });
    done.get_future().wait();
  }
  void stop() {
    guard_.reset();
    ioc_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

 private:
  net::io_context ioc_{1};
  net::executor_work_guard<net::io_context::executor_type> guard_;
  std::thread thread_;
};

/// Every cohort id the slots of `snapshot` reference, once each.
std::vector<std::string> referenced_cohorts(const cache::Snapshot& snapshot) {
  std::set<std::string_view> ids;
  for (std::size_t i = 0; i < snapshot.size(); ++i) {
    const eval::InclusionSet& cohorts = snapshot.compiled(i).cohorts();
    if (cohorts.empty()) {
      continue;
    }
    for (std::size_t pos = 0; pos < snapshot.group(i).slot_count(); ++pos) {
      for (std::size_t k = 0; k < cohorts.count(pos); ++k) {
        ids.insert(cohorts.at(pos, k));
      }
    }
  }
  return {ids.begin(), ids.end()};
}

common::Result<std::unique_ptr<sources::CohortSource>> cohort_source(
    const Settings& settings, net::io_context& context, serving::Service& service,
    serving::EdgeMetrics& metrics) {
  sources::CohortOptions options;
  options.url = settings.cohort_server;
  options.api_key = settings.cohort_api_key;
  options.secret_key = settings.cohort_secret_key;
  options.interval =
      std::chrono::duration_cast<std::chrono::milliseconds>(settings.cohort_poll_interval);
  options.failure_interval =
      std::chrono::duration_cast<std::chrono::milliseconds>(settings.poll_failure_interval);
  options.connect_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(settings.connect_timeout);
  // A cohort of millions of members is tens of megabytes: more time than a page of groups.
  options.request_timeout =
      std::max(std::chrono::duration_cast<std::chrono::milliseconds>(settings.upstream_timeout) * 6,
               std::chrono::milliseconds{std::chrono::seconds{60}});
  options.ca_file = settings.ca_file;
  options.max_cohort_size = settings.max_cohort_size;
  options.keep_bodies = settings.serve_cohorts;
  options.state_dir = settings.state_dir;
  sources::CohortSource::Callbacks callbacks;
  callbacks.publish = [&service, &metrics](std::shared_ptr<const cache::CohortTable> table) {
    metrics.cohorts(*table);
    auto copy = std::make_unique<cache::CohortTable>(*table);
    copy->index();  // its lookups view its own keys
    service.publish_cohorts(std::move(copy));
  };
  callbacks.polled = [&metrics](const std::string& id, std::string_view result, double seconds) {
    metrics.cohort_poll(result);
    if (result == "failed" || result == "too_large") {
      spdlog::warn("msg=\"cohort download\" cohort={} result={} seconds={:.3f}", quote(id), result,
                   seconds);
    } else {
      spdlog::info("msg=\"cohort download\" cohort={} result={} seconds={:.3f}", quote(id), result,
                   seconds);
    }
  };
  return sources::CohortSource::create(context.get_executor(), std::move(options),
                                       std::move(callbacks));
}

int serve(const Settings& settings, net::io_context& control, SyncThread& sync,
          std::atomic<bool>& retire_inline) {
  // One metric shard per worker thread: the serving listener's, then the admin listener's.
  const std::size_t admin_threads = settings.admin ? settings.admin->threads : 0;
  serving::EdgeMetrics metrics{settings.server.threads + admin_threads,
                               settings.assignment_metrics_max_series};
  // Replaced snapshots are destroyed on the sync thread, never on a worker.
  serving::Service service{service_options(settings), metrics,
                           [&sync, &retire_inline](const serving::ServingState* state) {
                             if (retire_inline.load()) {
                               delete state;
                               return;
                             }
                             net::post(sync.context(), [state] {
                               delete state;
                               release_free_memory();
                             });
                           }};

  std::unique_ptr<sources::FileSource> file;
  std::unique_ptr<sources::UpstreamSource> upstream;
  std::optional<Source> source =
      settings.upstream.empty()
          ? file_source(settings, sync.context(), service, file)
          : upstream_source(settings, sync.context(), service, metrics, upstream);
  if (!source) {
    return 1;
  }

  // --cohort-server: the members of the cohorts that served slots reference.
  std::unique_ptr<sources::CohortSource> cohorts;
  if (!settings.cohort_server.empty()) {
    auto created = cohort_source(settings, sync.context(), service, metrics);
    if (!created) {
      std::cerr << "mutex-edge: " << created.error().message << '\n';
      return 1;
    }
    cohorts = std::move(*created);
  }

  const api::ApiOptions api = api_options(settings);
  http::Options options;
  options.server = settings.server;
  options.server_name = "mutex-edge";
  options.captured_headers = api::captured_headers();
  options.connection_opened = [&metrics] { metrics.connection_opened(); };
  options.connection_closed = [&metrics] { metrics.connection_closed(); };
  const serving::RouteSet serving_routes =
      settings.admin ? serving::RouteSet::kServing : serving::RouteSet::kAll;
  http::Server server{options,
                      [&](std::size_t worker) {
                        return std::make_unique<api::RouterHandler>(service, metrics, api, worker,
                                                                    serving_routes);
                      },
                      control};
  // --admin-listen: the admin routes on a listener of their own, with their own metric shards.
  std::optional<http::Server> admin;
  if (settings.admin) {
    http::Options admin_options = options;
    admin_options.server = *settings.admin;
    admin.emplace(
        admin_options,
        [&](std::size_t worker) {
          return std::make_unique<api::RouterHandler>(
              service, metrics, api, settings.server.threads + worker, serving::RouteSet::kAdmin);
        },
        control);
  }
  try {
    if (admin) {
      admin->start();
    }
    server.start();
  } catch (const std::exception& e) {
    spdlog::critical("msg=\"cannot start\" error={}", quote(e.what()));
    std::cerr << "mutex-edge: " << e.what() << '\n';
    return 1;
  }
  // The SDK flags of a configuration no SDK asked for yet are built on the sources' thread.
  service.set_sdk_builder(sync.context().get_executor());
  // After a publication, idle workers let go of the replaced snapshot at once.
  service.on_publish([&server, &service, &cohorts] {
    server.notify_workers();
    if (cohorts) {
      if (const auto state = service.store().load()) {
        cohorts->want(referenced_cohorts(*state->snapshot));
      }
    }
  });
  const std::string admin_address =
      admin ? settings.admin->listen_host + ":" + std::to_string(admin->port()) : "off";
  spdlog::info(
      "msg=\"listening\" address={}:{} threads={} source={} admin_address={} "
      "require_key={}",
      settings.server.listen_host, server.port(), settings.server.threads, quote(source->name),
      admin_address, settings.require_key);
  sync.start();
  net::post(sync.context(), [&source, &cohorts, &service] {
    if (cohorts) {
      cohorts->start();
      // A config loaded before publications were followed (a file, a persisted copy).
      if (const auto state = service.store().load()) {
        cohorts->want(referenced_cohorts(*state->snapshot));
      }
    }
    source->start();
  });

  std::vector<http::Server*> servers{&server};
  if (admin) {
    servers.push_back(&*admin);
  }
  http::run_until_signal(servers, control, [&] {
    service.begin_drain();
    net::post(sync.context(), [&source, &cohorts] {
      source->stop();
      if (cohorts) {
        cohorts->stop();
      }
    });
  });
  sync.run([&source, &cohorts] {
    source->stop();
    if (cohorts) {
      cohorts->stop();
    }
  });
  sync.stop();
  retire_inline.store(true);
  spdlog::info("msg=\"stopped\"");
  return 0;
}

}  // namespace

int run_serve_command(int argc, const char* const* argv) {
  auto parsed = parse_settings(argc, argv);
  if (!parsed) {
    std::cerr << "mutex-edge: " << parsed.error().message << '\n';
    return 2;
  }
  if (!parsed->settings) {
    std::cout << parsed->help;
    return 0;
  }
  const Settings& settings = *parsed->settings;
  common::setup_logging(settings.log_level, "mutex-edge");
  common::warn_unknown_variables(parsed->unknown_variables);
  if (!settings.require_key && std::getenv("MUTEX_EDGE_CLIENT_KEYS") != nullptr) {
    spdlog::warn(
        "msg=\"MUTEX_EDGE_CLIENT_KEYS is set but --require-key is off: client keys are not "
        "checked\"");
  }

  net::io_context control{1};
  SyncThread sync;
  std::atomic<bool> retire_inline{false};
  const int code = serve(settings, control, sync, retire_inline);
  // Destroy what was retired to the sync thread after its loop ended.
  sync.context().restart();
  sync.context().poll();
  return code;
}

}  // namespace mutex_edge::proxy
