#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "metrics/proxy_metrics.hpp"
#include "proxy/service.hpp"
#include "proxy/settings.hpp"

namespace mutex_edge::proxy {

class Worker;

/// The HTTP/1.1 server: an acceptor on the control io_context hands each connection to one of
/// N worker threads (round-robin), where it lives until it closes. Each worker runs its own
/// single-threaded io_context with its own Router, so a connection needs no strand and the
/// request path shares nothing mutable with other threads.
class Server {
 public:
  Server(const Settings& settings, Service& service, metrics::ProxyMetrics& metrics,
         boost::asio::io_context& control);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds, listens and starts the workers. Throws with a clear message when it cannot bind.
  void start();
  /// The bound port (useful with --listen HOST:0).
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  /// Graceful stop: closes the acceptor and idle connections, lets in-flight requests finish
  /// (their connections then close), and calls `done` on the control thread when no connection
  /// is left or the grace period has passed.
  void drain(std::function<void()> done);
  /// Stops the workers and joins their threads. Idempotent.
  void stop();

 private:
  class Listener;

  const Settings& settings_;
  Service& service_;
  metrics::ProxyMetrics& metrics_;
  boost::asio::io_context& control_;
  std::atomic<std::size_t> open_connections_{0};  // outlives the workers' sessions
  std::vector<std::unique_ptr<Worker>> workers_;
  std::shared_ptr<Listener> listener_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace mutex_edge::proxy
