#include "proxy/serve_command.hpp"

#include <atomic>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "cache/file_source.hpp"
#include "cache/persistence.hpp"
#include "cache/upstream_source.hpp"
#include "common/log.hpp"
#include "http/server.hpp"
#include "proxy/edge_metrics.hpp"
#include "proxy/router.hpp"
#include "proxy/service.hpp"
#include "proxy/settings.hpp"

namespace mutex_edge::proxy {
namespace {

namespace net = boost::asio;
using cache::SourceKind;
using common::quote;

/// Whichever source feeds the service: started after the server listens, stopped on shutdown.
struct Source {
  std::string name;
  std::function<void()> start;
  std::function<void()> stop;
};

config::ParseOptions parse_options(const Settings& settings) {
  config::ParseOptions options;
  options.limits.max_document_bytes = settings.max_config_bytes;
  return options;
}

/// --config-file: the file must be usable at start.
std::optional<Source> file_source(const Settings& settings, net::io_context& control,
                                  Service& service, std::unique_ptr<cache::FileSource>& holder) {
  const std::string name = "file:" + settings.config_file;
  holder = std::make_unique<cache::FileSource>(
      control.get_executor(), settings.config_file, settings.config_reload_interval,
      parse_options(settings),
      cache::FileSource::Callbacks{.loaded =
                                       [&service, name](config::ListPage page) {
                                         service.apply(std::move(page), SourceKind::kFile, name);
                                       },
                                   .unchanged = [&service] { service.record_unchanged(); },
                                   .failed =
                                       [&service, name](const std::string& error) {
                                         service.record_failure(SourceKind::kFile, name, error);
                                       }});
  if (!holder->load()) {
    std::cerr << "mutex-edge: cannot start: the config file cannot be used (see the log line "
                 "above)\n";
    return std::nullopt;
  }
  auto* source = holder.get();
  return Source{name, [source] { source->start(); }, [source] { source->stop(); }};
}

/// --upstream: serves the persisted copy (if any) at once, then polls.
std::optional<Source> upstream_source(const Settings& settings, net::io_context& control,
                                      Service& service, EdgeMetrics& metrics,
                                      std::unique_ptr<cache::UpstreamSource>& holder) {
  cache::UpstreamOptions options;
  options.url = settings.upstream;
  options.api_key = settings.api_key;
  options.interval = settings.poll_interval;
  options.jitter = settings.poll_jitter;
  options.failure_interval = settings.poll_failure_interval;
  options.backoff_max = settings.poll_backoff_max;
  options.connect_timeout = settings.connect_timeout;
  options.request_timeout = settings.upstream_timeout;
  options.ca_file = settings.ca_file;
  options.parse = parse_options(settings);

  auto persist = [&settings, &service](const std::string& source) {
    if (settings.state_dir.empty()) {
      return;
    }
    auto state = service.store().load();
    auto saved = cache::save_config(settings.state_dir, state->snapshot->groups(), source,
                                    state->snapshot->origin().loaded_at);
    if (!saved) {
      spdlog::error("msg=\"cannot persist the config\" error={}", quote(saved.error().message));
    }
  };
  // The callbacks run on the control thread while `holder` owns the source.
  auto name = [&holder] { return holder->name(); };
  auto created = cache::UpstreamSource::create(
      control.get_executor(), options,
      cache::UpstreamSource::Callbacks{
          .loaded =
              [&service, persist, name](config::ListPage page) {
                const bool changed = service.apply(std::move(page), SourceKind::kUpstream, name());
                if (changed) {
                  persist(name());
                }
                return changed;
              },
          .not_modified = [&service] { service.record_unchanged(); },
          .failed =
              [&service, name](cache::PollOutcome outcome, const std::string& error) {
                service.record_failure(SourceKind::kUpstream, name(), error, to_string(outcome));
              },
          .finished =
              [&metrics](const cache::PollReport& report) { metrics.poll_finished(report); }});
  if (!created) {
    std::cerr << "mutex-edge: " << created.error().message << '\n';
    return std::nullopt;
  }
  holder = std::move(*created);

  if (!settings.state_dir.empty()) {
    const auto path = cache::persisted_path(settings.state_dir);
    if (auto persisted = cache::load_config(settings.state_dir, parse_options(settings))) {
      service.apply(std::move(persisted->page), SourceKind::kPersisted,
                    "persisted:" + persisted->source, persisted->fetched_at);
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

int serve(const Settings& settings, net::io_context& control, std::atomic<bool>& retire_inline) {
  EdgeMetrics metrics{settings.server.threads};
  // Replaced snapshots are destroyed on the control thread, never on a worker.
  Service service{settings, metrics, [&control, &retire_inline](const ServingState* state) {
                    if (retire_inline.load()) {
                      delete state;
                    } else {
                      net::post(control, [state] { delete state; });
                    }
                  }};

  std::unique_ptr<cache::FileSource> file;
  std::unique_ptr<cache::UpstreamSource> upstream;
  std::optional<Source> source =
      settings.upstream.empty() ? file_source(settings, control, service, file)
                                : upstream_source(settings, control, service, metrics, upstream);
  if (!source) {
    return 1;
  }

  http::Options options;
  options.server = settings.server;
  options.server_name = "mutex-edge";
  options.connection_opened = [&metrics] { metrics.connection_opened(); };
  options.connection_closed = [&metrics] { metrics.connection_closed(); };
  http::Server server{options,
                      [&](std::size_t worker) {
                        return std::make_unique<RouterHandler>(service, metrics, settings, worker);
                      },
                      control};
  try {
    server.start();
  } catch (const std::exception& e) {
    spdlog::critical("msg=\"cannot start\" error={}", quote(e.what()));
    std::cerr << "mutex-edge: " << e.what() << '\n';
    return 1;
  }
  spdlog::info("msg=\"listening\" address={}:{} threads={} source={}", settings.server.listen_host,
               server.port(), settings.server.threads, quote(source->name));
  source->start();

  http::run_until_signal(server, control, [&] {
    service.begin_drain();
    source->stop();
  });
  source->stop();
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

  net::io_context control{1};
  std::atomic<bool> retire_inline{false};
  const int code = serve(settings, control, retire_inline);
  // Destroy what was retired to the control thread after its loop ended.
  control.restart();
  control.poll();
  return code;
}

}  // namespace mutex_edge::proxy
