#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "mgmt/api.hpp"
#include "mgmt/faults.hpp"
#include "mgmt/settings.hpp"
#include "mgmt/store.hpp"

namespace mutex_edge::mgmt {

namespace detail {
struct ServerState;
}  // namespace detail

/// The HTTP/1.1 server: one io_context run by --threads threads, a strand per connection.
/// Requests are read with per-message parsers under header and body limits, answered by the
/// Api, and read endpoints get the injected faults (delays on an Asio timer, never a sleep).
class Server {
 public:
  Server(const Settings& settings, Api& api, FaultInjector& faults, Store& store,
         boost::asio::io_context& ioc);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and listens. Throws std::runtime_error with a one-line message when it cannot.
  void start();
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  /// Graceful stop: no new connections, idle ones closed, in-flight requests answered (their
  /// connections then close); `done` runs when none is left or --shutdown-grace has passed.
  void drain(std::function<void()> done);

 private:
  class Listener;

  std::shared_ptr<detail::ServerState> shared_;
  std::shared_ptr<Listener> listener_;
  std::uint16_t port_ = 0;
};

}  // namespace mutex_edge::mgmt
