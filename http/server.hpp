#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include "common/flags.hpp"

namespace mutex_edge::http {

enum class Method : std::uint8_t { kGet, kPost, kPatch, kPut, kOther };

/// A complete request, as views into the connection's buffers (valid during handle()).
struct Request {
  Method method = Method::kOther;
  std::string_view target;
  std::string_view content_type;
  std::string_view if_none_match;
  std::string_view authorization;
  std::string_view host;
  std::string_view body;
  bool head = false;  // a HEAD request: handled as the GET it names, answered without the body
  std::string_view accept_encoding;
  /// The values of Options::captured_headers, in that order ("" when absent).
  std::span<const std::string> captured;
};

/// A response to write. One per connection, reused from request to request, so that its
/// buffers stop allocating once they have grown.
struct Response {
  int status = 200;
  std::string_view content_type = "application/json";
  std::string body;
  std::string headers;  // extra header lines, "Name: value\r\n" each (see header())
  /// Written instead of `body` when set: a large immutable body shared by many answers (built
  /// once, e.g. per configuration), kept alive until its write completes.
  std::shared_ptr<const std::string> shared_body;

  [[nodiscard]] std::string_view payload() const noexcept {
    return shared_body ? std::string_view{*shared_body} : std::string_view{body};
  }
  void reset();
  void header(std::string_view name, std::string_view value);
  void header(std::string_view name, std::uint64_t value);
};

/// Sets `status` and the JSON error body `{"error":{"code":...,"message":...}}`.
void error(Response& response, int status, std::string_view code, std::string_view message);

/// application/json, or any +json type, with or without parameters.
[[nodiscard]] bool is_json(std::string_view content_type) noexcept;

/// How a request ends.
enum class Outcome : std::uint8_t {
  kRespond,  // write the response
  kClose,    // close the connection without an answer
};

/// The request being handled, as the handler sees the connection.
class Exchange {
 public:
  /// The worker's executor: a handler's own timers for this request go on it.
  [[nodiscard]] virtual boost::asio::any_io_executor executor() const = 0;
  /// Ends the request later instead of when handle() returns: returns the function that ends it,
  /// to be called once, on executor(). The response is written as it is filled then.
  [[nodiscard]] virtual std::function<void(Outcome)> defer() = 0;

 protected:
  ~Exchange() = default;
};

/// Answers requests on one worker thread: the server makes one per worker, so a handler's state
/// is thread-confined.
class Handler {
 public:
  virtual ~Handler() = default;
  /// Fills `response`; it is written when this returns unless `exchange.defer()` was called.
  virtual void handle(const Request& request, Response& response, Exchange& exchange) = 0;
  /// After a response was queued, or the connection closed instead; `handled` is false when
  /// the request could not be read and the server answered it (400, 413, 431). For metrics and
  /// logs.
  virtual void finished(const Response& response, std::chrono::steady_clock::duration took,
                        bool handled) = 0;
  /// On the worker's thread, when the application called Server::notify_workers (e.g. after
  /// publishing new state, so that an idle worker lets go of the old one).
  virtual void notified() {}
  /// On the worker's thread, when the server starts draining: a handler holding deferred
  /// answers (e.g. watch requests) ends them now, so that their connections can close.
  virtual void draining() {}
};

struct Options {
  common::ServerFlags server;               // address, threads, limits and timeouts
  std::string server_name;                  // the Server header
  std::function<void()> connection_opened;  // optional; called on the worker thread
  std::function<void()> connection_closed;
  /// Request headers the handler reads beyond the ones Request names (e.g. "X-Amp-Exp-User"),
  /// any case; the first of each reaches Request::captured.
  std::vector<std::string> captured_headers;
  /// Optional: the body limit of a request by its target (a route that takes large bodies, as
  /// mutex-mgmt's cohort upload); server.max_body_bytes for every request when unset.
  std::function<std::size_t(std::string_view target)> max_body_bytes_for;
};

class Worker;
class Server;

/// Runs `control` (the thread that called this) until SIGINT or SIGTERM: then logs, calls
/// `on_signal` (e.g. to turn /readyz to 503), drains `server` and returns once it is drained (a
/// second signal returns at once), with the workers stopped.
void run_until_signal(Server& server, boost::asio::io_context& control,
                      std::function<void()> on_signal = {});
/// The same for several servers (e.g. the serving and the admin listener), drained together.
void run_until_signal(const std::vector<Server*>& servers, boost::asio::io_context& control,
                      std::function<void()> on_signal = {});

/// An HTTP/1.1 server with keep-alive and pipelining. An acceptor on the control io_context
/// hands each connection to one of N worker threads (round-robin), where it lives until it
/// closes; each worker runs its own single-threaded io_context with its own Handler, so a
/// connection needs no strand. Every read and write has a timeout, every request a size limit.
class Server {
 public:
  using HandlerFactory = std::function<std::unique_ptr<Handler>(std::size_t worker)>;

  Server(Options options, const HandlerFactory& make_handler, boost::asio::io_context& control);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds, listens and starts the workers. Throws with a clear message when it cannot bind.
  void start();
  /// The bound port (useful with port 0).
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const Options& options() const noexcept { return options_; }

  /// Graceful stop: closes the acceptor and idle connections, lets in-flight requests finish
  /// (their connections then close), and calls `done` on the control thread when no connection
  /// is left or the grace period has passed.
  void drain(std::function<void()> done);
  [[nodiscard]] bool draining() const noexcept { return draining_.load(std::memory_order_relaxed); }
  /// Calls every worker's Handler::notified on that worker's thread. Any thread.
  void notify_workers();
  /// Stops the workers and joins their threads. Idempotent.
  void stop();

 private:
  class Listener;

  Options options_;
  boost::asio::io_context& control_;
  std::atomic<std::size_t> open_connections_{0};  // outlives the workers' sessions
  std::atomic<bool> draining_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::shared_ptr<Listener> listener_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace mutex_edge::http
