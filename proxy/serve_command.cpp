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
#include "proxy/server.hpp"
#include "proxy/service.hpp"
#include "proxy/settings.hpp"

namespace mutex_edge::proxy {

using cache::quote;
using cache::setup_logging;
namespace {

namespace net = boost::asio;

int serve(const Settings& settings, net::io_context& control, std::atomic<bool>& retire_inline) {
  prometheus::Registry registry;
  metrics::ProxyMetrics metrics{registry, settings.threads};
  // Replaced snapshots are destroyed on the control thread, never on a worker.
  Service service{settings, metrics, [&control, &retire_inline](const ServingState* state) {
                    if (retire_inline.load()) {
                      delete state;
                    } else {
                      net::post(control, [state] { delete state; });
                    }
                  }};

  const std::string source_name = "file:" + settings.config_file;
  cache::ParseOptions options;
  options.limits.max_document_bytes = settings.max_config_bytes;
  cache::FileSource source{
      control.get_executor(), settings.config_file, settings.config_reload_interval, options,
      {.loaded = [&](cache::ListPage page) { service.apply(std::move(page), "file", source_name); },
       .unchanged = [&] { service.record_unchanged("file"); },
       .failed = [&](const std::string& error) {
         service.record_failure("file", source_name, error);
       }}};
  if (!source.load()) {
    std::cerr << "mutex-edge: cannot start: the config file cannot be used (see the log line "
                 "above)\n";
    return 1;
  }

  Server server{settings, service, metrics, control};
  try {
    server.start();
  } catch (const std::exception& e) {
    spdlog::critical("msg=\"cannot start\" error={}", quote(e.what()));
    std::cerr << "mutex-edge: " << e.what() << '\n';
    return 1;
  }
  spdlog::info("msg=\"listening\" address={}:{} threads={} source={}", settings.listen_host,
               server.port(), settings.threads, quote(source_name));
  source.start();

  net::signal_set signals{control, SIGINT, SIGTERM};
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) {
      return;
    }
    spdlog::info("msg=\"shutting down: draining connections\" signal={} grace_ms={}", signal,
                 settings.shutdown_grace.count());
    service.begin_drain();
    source.stop();
    server.drain([&control] { control.stop(); });
    // A second signal stops at once.
    signals.async_wait([&control](boost::system::error_code second, int) {
      if (!second) {
        control.stop();
      }
    });
  });

  control.run();
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
  setup_logging(settings.log_level);

  net::io_context control{1};
  std::atomic<bool> retire_inline{false};
  const int code = serve(settings, control, retire_inline);
  // Destroy what was retired to the control thread after its loop ended.
  control.restart();
  control.poll();
  return code;
}

}  // namespace mutex_edge::proxy
