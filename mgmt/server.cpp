#include "mgmt/server.hpp"

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "cache/log.hpp"

namespace mutex_edge::mgmt {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Parser = http::request_parser<http::string_body>;

Method to_method(http::verb verb) {
  switch (verb) {
    case http::verb::get:
      return Method::kGet;
    case http::verb::post:
      return Method::kPost;
    case http::verb::patch:
      return Method::kPatch;
    default:
      return Method::kOther;
  }
}

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

void write_head(std::string& head, const Response& response, std::uint64_t data_version,
                bool close) {
  head.clear();
  head += "HTTP/1.1 ";
  append_number(head, static_cast<std::uint64_t>(response.status));
  head += ' ';
  head += http::obsolete_reason(static_cast<http::status>(response.status));
  head += "\r\nServer: mutex-mgmt\r\nContent-Type: application/json\r\nContent-Length: ";
  append_number(head, response.body.size());
  head += "\r\nX-Data-Version: ";
  append_number(head, data_version);
  head += "\r\n";
  if (!response.allow.empty()) {
    head += "Allow: ";
    head += response.allow;
    head += "\r\n";
  }
  if (response.www_authenticate) {
    head += "WWW-Authenticate: Bearer realm=\"mutex-mgmt\"\r\n";
  }
  if (response.status == 429) {
    head += "Retry-After: ";
    append_number(head, response.retry_after);
    head += "\r\n";
  }
  if (close) {
    head += "Connection: close\r\n";
  }
  head += "\r\n";
}

std::string_view route_name(Route route) {
  switch (route) {
    case Route::kList:
      return "list";
    case Route::kGet:
      return "get";
    case Route::kCreate:
      return "create";
    case Route::kEdit:
      return "edit";
    case Route::kEditSlot:
      return "edit_slot";
    case Route::kHealth:
      return "health";
    case Route::kUnknown:
      break;
  }
  return "other";
}

class Session;

}  // namespace

/// What every connection shares. Sessions hold it by shared_ptr: handlers still queued when
/// the io_context is destroyed may outlive the Server.
struct detail::ServerState {
  ServerState(const Settings& config, Api& routes, FaultInjector& injector, Store& data,
         net::io_context& context)
      : settings{config}, api{routes}, faults{injector}, store{data}, ioc{context} {}

  void track(const std::shared_ptr<Session>& session);
  void close_idle();

  const Settings& settings;
  Api& api;
  FaultInjector& faults;
  Store& store;
  net::io_context& ioc;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> draining{false};

 private:
  std::mutex mutex_;
  std::vector<std::weak_ptr<Session>> sessions_;
};

namespace {

/// One connection: read a request, answer it (after an injected delay or fault for reads),
/// repeat until the client or an error closes it. Runs on its own strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<detail::ServerState> shared)
      : stream_{std::move(socket)}, timer_{stream_.get_executor()}, shared_{std::move(shared)} {}
  ~Session() { shared_->open.fetch_sub(1, std::memory_order_relaxed); }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::do_read_header, shared_from_this()));
  }

  /// Closes the connection if it waits for a new request (posted to the strand).
  void close_if_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) {
        self->do_close();
      }
    });
  }

 private:
  const Settings& settings() const { return shared_->settings; }

  void do_read_header() {
    if (shared_->draining.load(std::memory_order_relaxed) && buffer_.size() == 0) {
      return do_close();
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(settings().max_header_bytes));
    parser_->body_limit(settings().max_body_bytes);
    idle_ = buffer_.size() == 0;
    stream_.expires_after(settings().idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_read_header,
                                                      shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t) {
    idle_ = false;
    if (ec) {
      return on_read_error(ec);
    }
    started_ = Clock::now();
    if (parser_->is_done()) {
      return handle();
    }
    stream_.expires_after(settings().read_timeout);
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      // curl waits a second for this before sending a body over 1 KiB.
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                              [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                                if (write_ec) {
                                  return self->do_close();
                                }
                                self->do_read_body();
                              });
    }
    do_read_body();
  }

  void do_read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read_body, shared_from_this()));
  }

  void on_read_body(beast::error_code ec, std::size_t) {
    if (ec) {
      return on_read_error(ec);
    }
    handle();
  }

  /// A request that could not be read: answer what the client can fix, then close.
  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof || ec == net::error::bad_descriptor) {
      return do_close();
    }
    started_ = Clock::now();
    response_.reset();
    if (ec == http::error::header_limit) {
      Api::error(response_, 431, "headers_too_large",
                 "the request head is larger than " + std::to_string(settings().max_header_bytes) +
                     " bytes (--max-header-bytes)");
    } else if (ec == http::error::body_limit) {
      Api::error(response_, 413, "payload_too_large",
                 "the request body is larger than " + std::to_string(settings().max_body_bytes) +
                     " bytes (--max-body-bytes)");
    } else if (ec.category() == beast::error_code{http::error::end_of_stream}.category() ||
               ec == http::error::partial_message) {
      Api::error(response_, 400, "bad_request", "malformed HTTP request: " + ec.message());
    } else {
      return do_close();
    }
    close_ = true;
    route_ = Route::kUnknown;
    send();
  }

  void handle() {
    const auto& message = parser_->get();
    Request request;
    request.method = to_method(message.method());
    request.target = {message.target().data(), message.target().size()};
    const auto content_type = message[http::field::content_type];
    request.content_type = {content_type.data(), content_type.size()};
    const auto authorization = message[http::field::authorization];
    request.authorization = {authorization.data(), authorization.size()};
    const auto host = message[http::field::host];
    request.host = {host.data(), host.size()};
    request.body = message.body();
    route_ = shared_->api.handle(request, response_);
    close_ = !message.keep_alive();

    fault_ = Fault::kNone;
    if (!is_read(route_) || !shared_->faults.settings().any()) {
      return send();
    }
    const FaultSettings& faults = shared_->faults.settings();
    fault_ = shared_->faults.draw();
    switch (fault_) {
      case Fault::kError500:
        Api::error(response_, 500, "internal_error",
                   "injected upstream fault (--fault-500-percent)");
        break;
      case Fault::kError429:
        Api::error(response_, 429, "rate_limited",
                   "injected upstream fault (--fault-429-percent); retry after " +
                       std::to_string(faults.retry_after_seconds) + " s");
        response_.retry_after = faults.retry_after_seconds;
        break;
      case Fault::kTruncate:
        // Valid HTTP (Content-Length is the cut length), invalid JSON.
        response_.body.resize(response_.body.size() / 2);
        break;
      case Fault::kNone:
      case Fault::kDrop:
        break;
    }
    if (faults.latency <= Duration::zero()) {
      return after_delay();
    }
    timer_.expires_after(faults.latency);
    timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (wait_ec) {
        return self->do_close();
      }
      self->after_delay();
    });
  }

  void after_delay() {
    if (fault_ == Fault::kDrop) {
      log_request("dropped");
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.close();
      return;
    }
    send();
  }

  void send() {
    close_ = close_ || shared_->draining.load(std::memory_order_relaxed);
    write_head(head_, response_, shared_->store.data_version(), close_);
    log_request("");
    const std::array<net::const_buffer, 2> buffers = {net::buffer(head_),
                                                      net::buffer(response_.body)};
    stream_.expires_after(settings().read_timeout);
    net::async_write(stream_, buffers,
                     beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void log_request(std::string_view outcome) {
    if (!spdlog::should_log(spdlog::level::debug)) {
      return;
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
    std::string_view target;
    if (parser_) {
      const auto t = parser_->get().target();
      target = {t.data(), t.size()};
    }
    spdlog::debug("msg=\"request\" route={} target={} status={} ms={}{}{}", route_name(route_),
                  cache::quote(target), outcome.empty() ? response_.status : 0, ms.count(),
                  outcome.empty() ? "" : " fault=", outcome);
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec || close_) {
      return do_close();
    }
    do_read_header();
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  std::shared_ptr<detail::ServerState> shared_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  Response response_;
  std::string head_;
  Clock::time_point started_;
  Route route_ = Route::kUnknown;
  Fault fault_ = Fault::kNone;
  bool idle_ = true;
  bool close_ = false;
};

}  // namespace

void detail::ServerState::track(const std::shared_ptr<Session>& session) {
  std::lock_guard lock{mutex_};
  if (sessions_.size() >= 64 && sessions_.size() == sessions_.capacity()) {
    std::erase_if(sessions_, [](const std::weak_ptr<Session>& s) { return s.expired(); });
  }
  sessions_.push_back(session);
}

void detail::ServerState::close_idle() {
  std::lock_guard lock{mutex_};
  for (const auto& weak : sessions_) {
    if (auto session = weak.lock()) {
      session->close_if_idle();
    }
  }
}

/// Accepts connections (on its own strand), each onto a new strand.
class Server::Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(std::shared_ptr<detail::ServerState> shared, tcp::acceptor&& acceptor)
      : shared_{std::move(shared)}, acceptor_{std::move(acceptor)}, retry_{acceptor_.get_executor()} {}

  void run() {
    net::dispatch(acceptor_.get_executor(),
                  beast::bind_front_handler(&Listener::do_accept, shared_from_this()));
  }
  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_.cancel();
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(shared_->ioc),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
      return;
    }
    if (ec) {
      // Out of file descriptors and the like: say so and retry shortly, not in a tight loop.
      spdlog::error("msg=\"accept failed\" error={}", cache::quote(ec.message()));
      retry_.expires_after(std::chrono::milliseconds{100});
      retry_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) {
          self->do_accept();
        }
      });
      return;
    }
    if (shared_->open.fetch_add(1, std::memory_order_relaxed) >= shared_->settings.max_connections) {
      shared_->open.fetch_sub(1, std::memory_order_relaxed);
      reject(std::move(socket));
    } else {
      auto session = std::make_shared<Session>(std::move(socket), shared_);
      shared_->track(session);
      session->run();
    }
    do_accept();
  }

  /// Over --max-connections: a 503 and close, written without holding up the acceptor.
  static void reject(tcp::socket socket) {
    static const std::string kBusy = [] {
      const std::string body =
          R"({"error":{"code":"too_many_connections","message":"the server is at --max-connections"}})";
      return "HTTP/1.1 503 Service Unavailable\r\nServer: mutex-mgmt\r\n"
             "Content-Type: application/json\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    }();
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    net::async_write(*s, net::buffer(kBusy), [s](beast::error_code, std::size_t) {
      beast::error_code ec;
      s->shutdown(tcp::socket::shutdown_both, ec);
      s->close(ec);
    });
  }

  std::shared_ptr<detail::ServerState> shared_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
};

Server::Server(const Settings& settings, Api& api, FaultInjector& faults, Store& store,
               net::io_context& ioc)
    : shared_{std::make_shared<detail::ServerState>(settings, api, faults, store, ioc)} {}

Server::~Server() {
  if (listener_) {
    listener_->close();
  }
}

void Server::start() {
  const Settings& settings = shared_->settings;
  tcp::resolver resolver{shared_->ioc};
  beast::error_code ec;
  const auto endpoints =
      resolver.resolve(settings.listen_host, std::to_string(settings.listen_port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    throw std::runtime_error("cannot resolve listen address " + settings.listen_host + ": " +
                             ec.message());
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  tcp::acceptor acceptor{net::make_strand(shared_->ioc)};
  auto check = [&](const char* what) {
    if (ec) {
      throw std::runtime_error(std::string{"cannot "} + what + " " + settings.listen_host + ":" +
                               std::to_string(settings.listen_port) + ": " + ec.message());
    }
  };
  acceptor.open(endpoint.protocol(), ec);
  check("open");
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  check("configure");
  acceptor.bind(endpoint, ec);
  check("bind");
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  check("listen on");
  port_ = acceptor.local_endpoint().port();
  listener_ = std::make_shared<Listener>(shared_, std::move(acceptor));
  listener_->run();
}

namespace {

/// Polls the open-connection count until it is zero or the grace period is over.
class DrainWaiter : public std::enable_shared_from_this<DrainWaiter> {
 public:
  DrainWaiter(net::io_context& ioc, std::atomic<std::size_t>& open, Clock::time_point deadline,
              std::function<void()> done)
      : timer_{ioc}, open_{open}, deadline_{deadline}, done_{std::move(done)} {}

  void check() {
    const std::size_t open = open_.load(std::memory_order_relaxed);
    if (open == 0 || Clock::now() >= deadline_) {
      if (open != 0) {
        spdlog::warn("msg=\"grace period over, closing connections\" open={}", open);
      }
      return done_();
    }
    timer_.expires_after(std::chrono::milliseconds{10});
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) {
        self->check();
      }
    });
  }

 private:
  net::steady_timer timer_;
  std::atomic<std::size_t>& open_;
  Clock::time_point deadline_;
  std::function<void()> done_;
};

}  // namespace

void Server::drain(std::function<void()> done) {
  shared_->draining.store(true, std::memory_order_relaxed);
  if (listener_) {
    listener_->close();
  }
  shared_->close_idle();
  std::make_shared<DrainWaiter>(shared_->ioc, shared_->open,
                                Clock::now() + shared_->settings.shutdown_grace, std::move(done))
      ->check();
}

}  // namespace mutex_edge::mgmt
