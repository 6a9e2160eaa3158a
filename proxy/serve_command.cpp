#include "proxy/serve_command.hpp"

#include <atomic>
#include <csignal>
#include <iostream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <prometheus/registry.h>

#include "cache/file_source.hpp"
#include "cache/log.hpp"
#include "cache/persistence.hpp"
#include "cache/upstream_source.hpp"
#include "metrics/poll_metrics.hpp"
#include "http/server.hpp"
#include "proxy/router.hpp"
#include "proxy/service.hpp"
#include "proxy/settings.hpp"

namespace mutex_edge::proxy {

using cache::quote;

namespace {

namespace net = boost::asio;

/// Whichever source feeds the service: started after the server listens, stopped on shutdown.
struct Source {
  std::string name;
  std::function<void()> start;
  std::function<void()> stop;
};

/// --config-file: the file must be usable at start.
std::optional<Source> file_source(const Settings& settings, net::io_context& control,
                                  Service& service, std::unique_ptr<cache::FileSource>& holder) {
  const std::string name = "file:" + settings.config_file;
  cache::ParseOptions options;
  options.limits.max_document_bytes = settings.max_config_bytes;
  holder = std::make_unique<cache::FileSource>(
      control.get_executor(), settings.config_file, settings.config_reload_interval, options,
      cache::FileSource::Callbacks{
          .loaded = [&service, name](cache::ListPage page) {
            service.apply(std::move(page), "file", name);
          },
          .unchanged = [&service] { service.record_unchanged("file"); },
          .failed = [&service, name](const std::string& error) {
            service.record_failure("file", name, error);
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
                                      Service& service, metrics::PollMetrics& poll_metrics,
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
  options.parse.limits.max_document_bytes = settings.max_config_bytes;

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
          .loaded = [&service, persist, name](cache::ListPage page) {
            const bool changed = service.apply(std::move(page), "upstream", name());
            if (changed) {
              persist(name());
            }
            return changed;
          },
          .not_modified = [&service] { service.record_unchanged("upstream"); },
          .failed = [&service, name](cache::PollOutcome outcome, const std::string& error) {
            service.record_failure("upstream", name(), error,
                                   std::string{cache::to_string(outcome)});
          }},
      &poll_metrics);
  if (!created) {
    std::cerr << "mutex-edge: " << created.error().message << '\n';
    return std::nullopt;
  }
  holder = std::move(*created);

  if (!settings.state_dir.empty()) {
    cache::ParseOptions parse;
    parse.limits.max_document_bytes = settings.max_config_bytes;
    const auto path = cache::persisted_path(settings.state_dir);
    if (auto persisted = cache::load_config(settings.state_dir, parse)) {
      service.apply(std::move(persisted->page), "persisted", "persisted:" + persisted->source,
                    persisted->fetched_at);
    } else if (std::filesystem::exists(path)) {
      service.record_failure("persisted", "persisted:" + path.string(), persisted.error().message);
    } else {
      spdlog::info("msg=\"no persisted config yet: not ready until the first poll\" path={}",
                   quote(path.string()));
    }
  }
  auto* source = holder.get();
  return Source{source->name(), [source] { source->start(); }, [source] { source->stop(); }};
}

int serve(const Settings& settings, net::io_context& control, std::atomic<bool>& retire_inline) {
  prometheus::Registry registry;
  metrics::ProxyMetrics metrics{registry, settings.threads};
  metrics::PollMetrics poll_metrics{registry};
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
                                : upstream_source(settings, control, service, poll_metrics, upstream);
  if (!source) {
    return 1;
  }

  http::Options options;
  options.listen_host = settings.listen_host;
  options.listen_port = settings.listen_port;
  options.threads = settings.threads;
  options.server_name = "mutex-edge";
  options.max_header_bytes = settings.max_header_bytes;
  options.max_body_bytes = settings.max_body_bytes;
  options.max_connections = settings.max_connections;
  options.idle_timeout = settings.idle_timeout;
  options.read_timeout = settings.read_timeout;
  options.shutdown_grace = settings.shutdown_grace;
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
  spdlog::info("msg=\"listening\" address={}:{} threads={} source={}", settings.listen_host,
               server.port(), settings.threads, quote(source->name));
  source->start();

  net::signal_set signals{control, SIGINT, SIGTERM};
  http::drain_on_signal(signals, server, control, [&] {
    service.begin_drain();
    source->stop();
  });

  control.run();
  source->stop();
  server.stop();
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
  cache::setup_logging(settings.log_level);

  net::io_context control{1};
  std::atomic<bool> retire_inline{false};
  const int code = serve(settings, control, retire_inline);
  // Destroy what was retired to the control thread after its loop ended.
  control.restart();
  control.poll();
  return code;
}

}  // namespace mutex_edge::proxy
