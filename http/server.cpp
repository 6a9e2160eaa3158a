#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "common/json_writer.hpp"
#include "common/text.hpp"

namespace mutex_edge::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using Clock = std::chrono::steady_clock;
using Socket = net::basic_stream_socket<tcp, net::io_context::executor_type>;

/// A file descriptor closed on destruction unless released (e.g. a connection whose hand-over
/// to a worker never ran because the server stopped).
class OwnedFd {
 public:
  explicit OwnedFd(int fd) noexcept : fd_{fd} {}
  OwnedFd(OwnedFd&& other) noexcept : fd_{std::exchange(other.fd_, -1)} {}
  OwnedFd& operator=(OwnedFd&&) = delete;
  ~OwnedFd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Method to_method(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get:
    case bhttp::verb::head:  // answered as GET, without the body (Request::head)
      return Method::kGet;
    case bhttp::verb::post:
      return Method::kPost;
    case bhttp::verb::patch:
      return Method::kPatch;
    case bhttp::verb::put:
      return Method::kPut;
    default:
      return Method::kOther;
  }
}

std::string_view view(beast::string_view s) {
  return {s.data(), s.size()};
}

/// What the server and its handlers read of a request. One per connection, cleared for each
/// request, so that its strings stop allocating once they have grown.
struct RequestHead {
  Method method = Method::kOther;
  bool head = false;
  std::string target;
  std::string content_type;
  std::string if_none_match;
  std::string authorization;
  std::string host;
  std::string expect;
  std::string accept_encoding;
  std::string body;
  std::vector<std::string> captured;  // Options::captured_headers' values

  void clear() {
    method = Method::kOther;
    head = false;
    for (std::string* text : {&target, &content_type, &if_none_match, &authorization, &host,
                              &expect, &accept_encoding, &body}) {
      text->clear();
    }
    for (std::string& text : captured) {
      text.clear();
    }
  }
};

/// Beast's request parser keeping only RequestHead's fields (the first of each, as a fields
/// container's lookup would give): no container of every header is built per request.
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  RequestParser(RequestHead& head, std::size_t max_body, std::span<const std::string> captured)
      : head_{head}, max_body_{max_body}, captured_{captured} {
    head_.captured.resize(captured_.size());
    head_.clear();
  }

  /// Chooses the body limit by the request's target, once its start line is read (before the
  /// Content-Length is checked against the limit).
  void limit_body_by(const std::function<std::size_t(std::string_view)>* limit_for) {
    limit_for_ = limit_for;
  }
  /// The body limit of the request being read.
  [[nodiscard]] std::size_t max_body() const noexcept { return max_body_; }

 private:
  void on_request_impl(bhttp::verb method, beast::string_view /*method_string*/,
                       beast::string_view target, int /*version*/,
                       beast::error_code& /*ec*/) override {
    head_.method = to_method(method);
    head_.head = method == bhttp::verb::head;
    head_.target.assign(target.data(), target.size());
    if (limit_for_ != nullptr && *limit_for_) {
      max_body_ = (*limit_for_)(head_.target);
      body_limit(max_body_);
    }
  }
  void on_response_impl(int /*status*/, beast::string_view /*reason*/, int /*version*/,
                        beast::error_code& ec) override {
    ec = bhttp::error::bad_method;  // a request parser never reads a status line
  }
  void on_field_impl(bhttp::field name, beast::string_view name_string, beast::string_view value,
                     beast::error_code& /*ec*/) override {
    std::string* into = nullptr;
    switch (name) {
      case bhttp::field::accept_encoding:
        into = &head_.accept_encoding;
        break;
      case bhttp::field::content_type:
        into = &head_.content_type;
        break;
      case bhttp::field::if_none_match:
        into = &head_.if_none_match;
        break;
      case bhttp::field::authorization:
        into = &head_.authorization;
        break;
      case bhttp::field::host:
        into = &head_.host;
        break;
      case bhttp::field::expect:
        into = &head_.expect;
        break;
      default:
        for (std::size_t i = 0; i < captured_.size(); ++i) {
          if (common::iequals(view(name_string), captured_[i])) {
            into = &head_.captured[i];
            break;
          }
        }
        if (into == nullptr) {
          return;
        }
    }
    if (into->empty()) {
      into->assign(value.data(), value.size());
    }
  }
  void on_header_impl(beast::error_code& /*ec*/) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         beast::error_code& /*ec*/) override {
    if (length) {
      head_.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, max_body_)));
    }
  }
  std::size_t on_body_impl(beast::string_view body, beast::error_code& /*ec*/) override {
    head_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t /*size*/, beast::string_view /*extensions*/,
                            beast::error_code& /*ec*/) override {}
  std::size_t on_chunk_body_impl(std::uint64_t /*remain*/, beast::string_view body,
                                 beast::error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(beast::error_code& /*ec*/) override {}

  RequestHead& head_;
  std::size_t max_body_;
  std::span<const std::string> captured_;
  const std::function<std::size_t(std::string_view)>* limit_for_ = nullptr;
};

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

/// The Date header's value, formatted once per second per thread.
std::string_view http_date() {
  thread_local std::time_t cached = 0;
  thread_local std::array<char, 40> text{};
  thread_local std::size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached) {
    cached = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    length = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  return {text.data(), length};
}

char* put(char* at, std::string_view text) noexcept {
  std::memcpy(at, text.data(), text.size());
  return at + text.size();
}

/// The status line and headers for `response`, written in place (this runs for every answer).
void write_head(std::string& head, const Response& response, std::string_view server, bool close) {
  const std::string_view reason =
      view(bhttp::obsolete_reason(static_cast<bhttp::status>(response.status)));
  const std::string_view date = http_date();
  constexpr std::size_t kFixed = 160;  // names, separators and numbers
  head.resize(kFixed + reason.size() + server.size() + date.size() + response.content_type.size() +
              response.headers.size());
  char* at = head.data();
  at = put(at, "HTTP/1.1 ");
  at = std::to_chars(at, at + 20, response.status).ptr;
  *at++ = ' ';
  at = put(at, reason);
  at = put(at, "\r\nServer: ");
  at = put(at, server);
  at = put(at, "\r\nDate: ");
  at = put(at, date);
  at = put(at, "\r\n");
  if (response.status != 304 && response.status != 204) {  // neither has a body (RFC 9110)
    at = put(at, "Content-Type: ");
    at = put(at, response.content_type);
    at = put(at, "\r\nContent-Length: ");
    at = std::to_chars(at, at + 20, response.payload().size()).ptr;
    at = put(at, "\r\n");
  }
  at = put(at, response.headers);
  if (close) {
    at = put(at, "Connection: close\r\n");
  }
  at = put(at, "\r\n");
  head.resize(static_cast<std::size_t>(at - head.data()));
}

/// Each connection takes a file descriptor: raises the soft open-file limit to what
/// `connections` needs (within the hard limit), and warns when it still falls short.
void raise_fd_limit(std::size_t connections) {
  constexpr rlim_t kReserved = 64;  // listeners, the upstream, files, logs, the tests' pipes
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  const rlim_t wanted = static_cast<rlim_t>(connections) + kReserved;
  if (limit.rlim_cur >= wanted) {
    return;
  }
  rlimit raised = limit;
  raised.rlim_cur = std::min(wanted, limit.rlim_max);
  if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
    limit = raised;
  }
  if (limit.rlim_cur < wanted) {
    spdlog::warn(
        "msg=\"the open-file limit is below what --max-connections needs: connections beyond it "
        "fail to be accepted\" max_connections={} open_file_limit={} hard_limit={}",
        connections, limit.rlim_cur, limit.rlim_max);
  }
}

}  // namespace

void Response::reset() {
  status = 200;
  content_type = "application/json";
  body.clear();
  headers.clear();
  shared_body.reset();
}

void Response::header(std::string_view name, std::string_view value) {
  headers += name;
  headers += ": ";
  headers += value;
  headers += "\r\n";
}

void Response::header(std::string_view name, std::uint64_t value) {
  headers += name;
  headers += ": ";
  append_number(headers, value);
  headers += "\r\n";
}

void error(Response& response, int status, std::string_view code, std::string_view message) {
  response.status = status;
  response.content_type = "application/json";
  response.body.clear();
  response.shared_body.reset();
  common::JsonWriter writer{response.body};
  writer.begin_object().error_member(code, message).end_object();
}

bool is_json(std::string_view content_type) noexcept {
  // The media type without its parameters: application/json, or a structured +json type.
  const std::string_view type = common::trim(content_type.substr(0, content_type.find(';')));
  constexpr std::string_view kSuffix = "+json";
  return common::iequals(type, "application/json") ||
         (type.size() > kSuffix.size() &&
          common::iequals(type.substr(type.size() - kSuffix.size()), kSuffix));
}

void run_until_signal(Server& server, net::io_context& control, std::function<void()> on_signal) {
  run_until_signal(std::vector<Server*>{&server}, control, std::move(on_signal));
}

void run_until_signal(const std::vector<Server*>& servers, net::io_context& control,
                      std::function<void()> on_signal) {
  net::signal_set signals{control, SIGINT, SIGTERM};
  signals.async_wait([&signals, &servers, &control, on_signal = std::move(on_signal)](
                         beast::error_code ec, int signal) {
    if (ec) {
      return;
    }
    spdlog::info("msg=\"shutting down: draining connections\" signal={} grace_ms={}", signal,
                 servers.front()->options().server.shutdown_grace.count());
    if (on_signal) {
      on_signal();
    }
    auto left = std::make_shared<std::size_t>(servers.size());
    for (Server* server : servers) {
      server->drain([&control, left] {
        if (--*left == 0) {
          control.stop();
        }
      });
    }
    signals.async_wait([&control](beast::error_code second, int) {
      if (!second) {
        control.stop();
      }
    });
  });
  control.run();
  for (Server* server : servers) {
    server->stop();
  }
}

class Session;

/// One worker thread: its io_context, its Handler, and the connections it owns.
class Worker {
 public:
  Worker(const Options& server_options, std::unique_ptr<Handler> worker_handler,
         const std::atomic<bool>& server_draining)
      : options{server_options},
        handler{std::move(worker_handler)},
        draining{server_draining},
        guard_{net::make_work_guard(ioc)} {}

  /// How often the sweep looks for connections past their deadline: a quarter of the shorter
  /// timeout, within 10 ms and 1 s, so a timeout fires at most a quarter late.
  [[nodiscard]] Clock::duration sweep_period() const {
    const auto shorter =
        std::min<Clock::duration>(options.server.idle_timeout, options.server.read_timeout);
    return std::clamp<Clock::duration>(shorter / 4, std::chrono::milliseconds{10},
                                       std::chrono::seconds{1});
  }

  void start(std::size_t index) {
    thread_ = std::thread{[this, index] {
      // "mutex-edge-w0": a name top, perf and gdb show (at most 15 characters).
      const std::string name = options.server_name.substr(0, 10) + "-w" + std::to_string(index);
      (void)::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
      schedule_sweep();
      ioc.run();
    }};
  }
  void stop() {
    guard_.reset();
    ioc.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  /// Closes the connections that wait for a request; the others close after their response.
  void close_idle();
  void track(const std::shared_ptr<Session>& session);
  /// Closes the connections past their read or write deadline, every sweep_period().
  void schedule_sweep();

  // One thread runs it and every socket on it is opened, used and closed there, so the reactor
  // needs no per-descriptor lock; posts from other threads stay locked in the scheduler.
  net::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  const Options& options;
  std::unique_ptr<Handler> handler;
  const std::atomic<bool>& draining;

 private:
  net::executor_work_guard<net::io_context::executor_type> guard_;
  std::thread thread_;
  std::vector<std::weak_ptr<Session>> sessions_;
  net::steady_timer sweep_{ioc};
};

/// One client connection: read a request, answer it, repeat (requests pipelined by the client
/// wait in the buffer and are answered in order).
class Session final : public std::enable_shared_from_this<Session>, public Exchange {
 public:
  Session(Socket&& socket, Worker& worker, std::atomic<std::size_t>& open)
      : stream_{std::move(socket)}, worker_{worker}, open_{open} {
    if (worker_.options.connection_opened) {
      worker_.options.connection_opened();
    }
  }
  ~Session() {
    if (worker_.options.connection_closed) {
      worker_.options.connection_closed();
    }
    open_.fetch_sub(1, std::memory_order_relaxed);
  }

  void run() {
    // Writes that would block say so instead (send() then goes asynchronous).
    beast::error_code ec;
    stream_.non_blocking(true, ec);
    if (ec) {
      return do_close();
    }
    do_read_header();
  }

  [[nodiscard]] net::any_io_executor executor() const override {
    return worker_.ioc.get_executor();
  }

  [[nodiscard]] std::function<void(Outcome)> defer() override {
    deferred_ = true;
    return [self = shared_from_this()](Outcome outcome) { self->end(outcome); };
  }

  /// Closes the connection if it is waiting for a new request.
  void close_if_idle() {
    if (idle_) {
      beast::error_code ec;
      stream_.shutdown(tcp::socket::shutdown_both, ec);
      stream_.close(ec);
    }
  }

  /// Closes the connection if the read or write it waits on is past its deadline: the pending
  /// operation then ends with operation_aborted. Called by the worker's sweep.
  void expire_if_due(Clock::time_point now) {
    if (reading_head_ && !head_begun_ && buffer_.size() != 0) {
      // The first bytes of a head have come: the rest must follow within the read timeout, not
      // the idle one (a client sending a byte at a time holds a connection no longer).
      head_begun_ = true;
      deadline_ = std::min(deadline_, now + worker_.options.server.read_timeout);
    }
    if (now >= deadline_) {
      deadline_ = Clock::time_point::max();
      beast::error_code ec;
      stream_.close(ec);
    }
  }

 private:
  bool draining() const { return worker_.draining.load(std::memory_order_relaxed); }

  void do_read_header() {
    if (draining() && buffer_.size() == 0) {
      return do_close();
    }
    parser_.emplace(request_, worker_.options.server.max_body_bytes,
                    worker_.options.captured_headers);
    parser_->header_limit(static_cast<std::uint32_t>(worker_.options.server.max_header_bytes));
    parser_->body_limit(worker_.options.server.max_body_bytes);
    parser_->limit_body_by(&worker_.options.max_body_bytes_for);
    idle_ = buffer_.size() == 0;
    reading_head_ = true;
    head_begun_ = !idle_;
    arm(idle_ ? worker_.options.server.idle_timeout : worker_.options.server.read_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::on_read_header, shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t) {
    idle_ = false;
    reading_head_ = false;
    if (ec) {
      return on_read_error(ec);
    }
    started_ = Clock::now();
    if (parser_->is_done()) {
      return handle();
    }
    deadline_ = started_ + worker_.options.server.read_timeout;
    if (common::iequals(request_.expect, "100-continue")) {
      // Tell the client to send the body (curl waits a second for this otherwise).
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
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_read_body, shared_from_this()));
  }

  void on_read_body(beast::error_code ec, std::size_t) {
    if (ec) {
      return on_read_error(ec);
    }
    handle();
  }

  /// A request could not be read: answer what the client can fix, close on the rest.
  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof || ec == net::error::bad_descriptor) {
      return do_close();
    }
    started_ = Clock::now();
    response_.reset();
    if (ec == bhttp::error::header_limit) {
      error(response_, 431, "headers_too_large",
            "the request head is larger than " +
                std::to_string(worker_.options.server.max_header_bytes) + " bytes");
    } else if (ec == bhttp::error::body_limit) {
      error(response_, 413, "payload_too_large",
            "the request body is larger than " + std::to_string(parser_->max_body()) + " bytes");
    } else if (ec.category() == beast::error_code{bhttp::error::end_of_stream}.category() ||
               ec == bhttp::error::partial_message) {
      error(response_, 400, "bad_request", "malformed HTTP request: " + ec.message());
    } else {
      return do_close();
    }
    close_ = true;
    send(false);
  }

  void handle() {
    deadline_ = Clock::time_point::max();  // a deferred answer has no deadline of the server's
    Request request;
    request.method = request_.method;
    request.target = request_.target;
    request.content_type = request_.content_type;
    request.if_none_match = request_.if_none_match;
    request.authorization = request_.authorization;
    request.host = request_.host;
    request.accept_encoding = request_.accept_encoding;
    request.captured = request_.captured;
    request.body = request_.body;
    request.head = request_.head;
    response_.reset();
    close_ = !parser_->keep_alive();
    deferred_ = false;
    worker_.handler->handle(request, response_, *this);
    if (!deferred_) {
      end(Outcome::kRespond);
    }
  }

  void end(Outcome outcome) {
    if (outcome == Outcome::kClose) {
      worker_.handler->finished(response_, Clock::now() - started_, true);
      beast::error_code ec;
      stream_.shutdown(tcp::socket::shutdown_both, ec);
      stream_.close(ec);
      return;
    }
    send(true);
  }

  void send(bool handled) {
    close_ = close_ || draining();
    const Clock::time_point now = Clock::now();
    worker_.handler->finished(response_, now - started_, handled);
    write_head(head_, response_, worker_.options.server_name, close_);
    // HEAD: the head a GET gets, Content-Length included, and no body.
    std::array<net::const_buffer, 2> buffers = {
        net::buffer(head_),
        request_.head ? net::const_buffer{}
                      : net::buffer(response_.payload().data(), response_.payload().size())};
    // Most answers fit the socket's send buffer: write them now, without an asynchronous
    // operation and a trip through the scheduler; what does not fit is written asynchronously.
    beast::error_code ec;
    const std::size_t sent = stream_.write_some(buffers, ec);
    if (ec && ec != net::error::would_block && ec != net::error::try_again) {
      return do_close();
    }
    const std::size_t total = buffers[0].size() + buffers[1].size();
    if (!ec && sent == total) {
      return on_write({}, sent);
    }
    if (sent < buffers[0].size()) {
      buffers[0] += sent;
    } else {
      buffers[1] += sent - buffers[0].size();
      buffers[0] = {};
    }
    deadline_ = now + worker_.options.server.read_timeout;
    net::async_write(stream_, buffers,
                     beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec || close_) {
      return do_close();
    }
    do_read_header();
  }

  void do_close() {
    deadline_ = Clock::time_point::max();
    beast::error_code ec;
    stream_.shutdown(tcp::socket::shutdown_send, ec);
    stream_.close(ec);
  }

  void arm(Clock::duration timeout) { deadline_ = Clock::now() + timeout; }

  // A socket bound to the worker's io_context type, and one deadline checked by the worker's
  // sweep: no type-erased executor and no timer to re-arm per read and write.
  Socket stream_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Worker& worker_;
  std::atomic<std::size_t>& open_;
  beast::flat_buffer buffer_;
  RequestHead request_;
  std::optional<RequestParser> parser_;
  Response response_;
  std::string head_;
  Clock::time_point started_;
  bool idle_ = true;
  bool reading_head_ = false;  // waiting in async_read_header
  bool head_begun_ = false;    // ... and part of the head has arrived
  bool close_ = false;
  bool deferred_ = false;
};

void Worker::track(const std::shared_ptr<Session>& session) {
  if (sessions_.size() >= 64 && sessions_.size() == sessions_.capacity()) {
    std::erase_if(sessions_, [](const std::weak_ptr<Session>& s) { return s.expired(); });
  }
  sessions_.push_back(session);
}

void Worker::schedule_sweep() {
  sweep_.expires_after(sweep_period());
  sweep_.async_wait([this](beast::error_code ec) {
    if (ec) {
      return;
    }
    const Clock::time_point now = Clock::now();
    std::erase_if(sessions_, [now](const std::weak_ptr<Session>& weak) {
      auto session = weak.lock();
      if (session) {
        session->expire_if_due(now);
      }
      return !session;
    });
    schedule_sweep();
  });
}

void Worker::close_idle() {
  for (const auto& weak : sessions_) {
    if (auto session = weak.lock()) {
      session->close_if_idle();
    }
  }
}

/// Accepts connections on the control thread and hands each to the next worker.
class Server::Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(Server& server, tcp::acceptor&& acceptor)
      : server_{server}, acceptor_{std::move(acceptor)}, retry_{server.control_} {}

  void run() { do_accept(); }
  void close() {
    beast::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  }

 private:
  void do_accept() {
    acceptor_.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      self->on_accept(ec, std::move(socket));
    });
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
      return;
    }
    if (ec) {
      // Out of file descriptors and the like: say so and retry shortly, not in a tight loop.
      spdlog::error("msg=\"accept failed\" error=\"{}\"", ec.message());
      retry_.expires_after(std::chrono::milliseconds{100});
      retry_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) {
          self->do_accept();
        }
      });
      return;
    }
    const std::size_t open = server_.open_connections_.fetch_add(1, std::memory_order_relaxed);
    if (open >= server_.options_.server.max_connections) {
      server_.open_connections_.fetch_sub(1, std::memory_order_relaxed);
      reject(std::move(socket));
    } else {
      hand_over(std::move(socket));
    }
    do_accept();
  }

  /// Moves the connection to the next worker. The socket is accepted on the control thread's
  /// io_context and re-opened on the worker's from its descriptor, so no operation ever spans
  /// two io_contexts (whose destruction order would then matter).
  void hand_over(tcp::socket socket) {
    Worker& worker = *server_.workers_[next_];
    next_ = (next_ + 1) % server_.workers_.size();
    beast::error_code ec;
    const tcp protocol = socket.local_endpoint(ec).protocol();
    OwnedFd fd{ec ? -1 : socket.release(ec)};
    if (ec) {
      server_.open_connections_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    net::post(worker.ioc, [&worker, &open_count = server_.open_connections_, protocol,
                           fd = std::move(fd)]() mutable {
      Socket moved{worker.ioc};
      beast::error_code assign_ec;
      moved.assign(protocol, fd.release(), assign_ec);
      if (assign_ec) {
        open_count.fetch_sub(1, std::memory_order_relaxed);
        return;
      }
      // An answer is written whole in one call: send it at once, not after the last one's ACK
      // (Nagle's wait, which a client's delayed ACK can stretch to 40 ms).
      moved.set_option(tcp::no_delay{true}, assign_ec);
      auto session = std::make_shared<Session>(std::move(moved), worker, open_count);
      worker.track(session);
      session->run();
    });
  }

  /// Over max_connections: a 503 and close, written without blocking the acceptor.
  void reject(tcp::socket socket) {
    Response busy;
    error(busy, 503, "too_many_connections", "the server is at --max-connections");
    auto text = std::make_shared<std::string>();
    write_head(*text, busy, server_.options_.server_name, true);
    *text += busy.body;
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    net::async_write(*s, net::buffer(*text), [s, text](beast::error_code, std::size_t) {
      beast::error_code ec;
      s->shutdown(tcp::socket::shutdown_both, ec);
      s->close(ec);
    });
  }

  Server& server_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  std::size_t next_ = 0;
};

/// Polls the open-connection count on the control thread until it is zero or time is up.
class DrainWaiter : public std::enable_shared_from_this<DrainWaiter> {
 public:
  DrainWaiter(net::io_context& control, std::atomic<std::size_t>& open, Clock::time_point deadline,
              std::function<void()> done)
      : timer_{control}, open_{open}, deadline_{deadline}, done_{std::move(done)} {}

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

Server::Server(Options options, const HandlerFactory& make_handler, net::io_context& control)
    : options_{std::move(options)}, control_{control} {
  for (std::size_t i = 0; i < std::max<std::size_t>(options_.server.threads, 1); ++i) {
    workers_.push_back(std::make_unique<Worker>(options_, make_handler(i), draining_));
  }
}

Server::~Server() {
  stop();
}

void Server::start() {
  raise_fd_limit(options_.server.max_connections);
  tcp::resolver resolver{control_};
  beast::error_code ec;
  const auto endpoints =
      resolver.resolve(options_.server.listen_host, std::to_string(options_.server.listen_port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    throw std::runtime_error("cannot resolve listen address " + options_.server.listen_host + ": " +
                             ec.message());
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  tcp::acceptor acceptor{control_};
  auto check = [&](const char* what) {
    if (ec) {
      throw std::runtime_error(std::string{"cannot "} + what + " " + options_.server.listen_host +
                               ":" + std::to_string(options_.server.listen_port) + ": " +
                               ec.message());
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

  for (std::size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->start(i);
  }
  listener_ = std::make_shared<Listener>(*this, std::move(acceptor));
  listener_->run();
}

void Server::drain(std::function<void()> done) {
  draining_.store(true, std::memory_order_relaxed);
  if (listener_) {
    listener_->close();
  }
  for (auto& worker : workers_) {
    net::post(worker->ioc, [w = worker.get()] {
      w->handler->draining();
      w->close_idle();
    });
  }
  std::make_shared<DrainWaiter>(control_, open_connections_,
                                Clock::now() + options_.server.shutdown_grace, std::move(done))
      ->check();
}

void Server::notify_workers() {
  for (auto& worker : workers_) {
    net::post(worker->ioc, [w = worker.get()] { w->handler->notified(); });
  }
}

void Server::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  if (listener_) {
    listener_->close();
  }
  for (auto& worker : workers_) {
    worker->stop();
  }
}

}  // namespace mutex_edge::http
