// Hostile clients against the real mutex-edge binary: each attack ends with a documented status
// or a closed connection within the configured timeout, while a second client's /assign keeps
// its normal latency (measured, and printed).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "tests/support/checks.hpp"
#include "tests/support/edge_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/timing.hpp"

using namespace mutex_edge;
using testing::EdgeProcess;
using testing::eventually;
using testing::HttpClient;
using testing::HttpResponse;
using testing::Load;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

const std::string kExample = testing::source_path("examples/groups.json");

// Short timeouts so that each attack ends quickly; the limits are the defaults' shape. All of
// them scale together (testing::scaled), so that the read timeout plus its slack stays below the
// idle timeout in every build.
const auto kReadTimeout = testing::scaled(milliseconds{1000});
const auto kIdleTimeout = testing::scaled(milliseconds{3000});
// How late a timeout may fire: the server's sweep (a quarter of the shorter timeout) and a
// loaded machine.
const auto kSlack = testing::scaled(milliseconds{1500});
// The probe's p99 must stay below this while an attack runs (a normal answer takes well under
// a millisecond; sanitizer builds on a busy machine take a few).
const double kProbeP99Ms = 250 * testing::time_scale();

// In the environment of every edge here (unused by a --config-file edge without --require-key,
// and still never to be printed).
const std::string kUpstreamKey = "upstream-key-clients-3c3c";
const std::string kClientKey = "client-key-clients-9d9d";

/// A raw TCP connection to 127.0.0.1:port, for bytes no HTTP client would send.
class Raw {
 public:
  explicit Raw(std::uint16_t port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    if (receive_buffer > 0) {
      (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    const int one = 1;
    (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Raw() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  /// Sends all of `bytes`; false when the peer closed or reset the connection.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads until the peer closes the connection or `timeout` passes; returns what came, and
  /// sets `closed`.
  std::string read_until_closed(milliseconds timeout, bool& closed) {
    std::string out;
    closed = false;
    const auto deadline = Clock::now() + timeout;
    char buffer[16384];
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 1))) <= 0) {
        continue;
      }
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed = true;
        break;
      }
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

/// The statuses of the HTTP responses in `bytes`, in order.
std::vector<int> statuses(const std::string& bytes) {
  std::vector<int> out;
  for (std::size_t at = bytes.find("HTTP/1.1 "); at != std::string::npos;
       at = bytes.find("HTTP/1.1 ", at + 1)) {
    out.push_back(std::stoi(bytes.substr(at + 9, 3)));
  }
  return out;
}

/// The JSON error code of the (last) response in `bytes`.
std::string error_code_in(const std::string& bytes) {
  const auto body = bytes.rfind("\r\n\r\n");
  if (body == std::string::npos) {
    return {};
  }
  simdjson::dom::parser parser;
  simdjson::dom::element json;
  if (parser.parse(bytes.substr(body + 4)).get(json) != simdjson::SUCCESS) {
    return "(not JSON)";
  }
  std::string_view code;
  return json["error"]["code"].get(code) == simdjson::SUCCESS ? std::string{code} : "(no code)";
}

long rss_kb(int pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

struct Hostile {
  EdgeProcess edge;
  std::unique_ptr<Load> probe;

  /// `extra` flags replace the defaults of the same name.
  explicit Hostile(const std::vector<std::string>& extra = {})
      : edge{[&] {
               std::vector<std::string> defaults = {
                   "--config-file",      kExample,
                   "--threads",          "2",
                   "--read-timeout",     testing::flag_value(kReadTimeout),
                   "--idle-timeout",     testing::flag_value(kIdleTimeout),
                   "--max-body-bytes",   "65536",
                   "--max-header-bytes", "8192"};
               std::vector<std::string> args = extra;
               for (std::size_t i = 0; i + 1 < defaults.size(); i += 2) {
                 if (std::find(extra.begin(), extra.end(), defaults[i]) == extra.end()) {
                   args.push_back(defaults[i]);
                   args.push_back(defaults[i + 1]);
                 }
               }
               return args;
             }(),
             {{"MUTEX_EDGE_API_KEY", kUpstreamKey}, {"MUTEX_EDGE_CLIENT_KEYS", kClientKey}}} {
    probe = std::make_unique<Load>(edge.port());
  }

  /// Ends the probe and checks it kept answering, quickly.
  void check_probe(const char* attack) {
    // Enough answers for a p99, however short the attack was.
    (void)eventually([&] { return probe->ok() + probe->failed() >= 200; });
    probe->finish();
    const double p50 = probe->latency_ms(0.5);
    const double p99 = probe->latency_ms(0.99);
    std::cout << attack << ": probe " << probe->ok() << " answers, p50 " << p50 << " ms, p99 "
              << p99 << " ms, max " << probe->latency_ms(1.0) << " ms\n";
    INFO(attack);
    CHECK(probe->failed() == 0);
    CHECK(probe->ok() >= 200);
    CHECK(p99 < kProbeP99Ms);
    CHECK(edge.running());
    // Keys in the environment never reach the log, whatever the clients sent.
    CHECK(edge.log().find(kUpstreamKey) == std::string::npos);
    CHECK(edge.log().find(kClientKey) == std::string::npos);
  }
};

/// Waits for `raw` to be closed by the server; returns how long that took from `since`.
milliseconds closed_after(Raw& raw, Clock::time_point since, milliseconds limit,
                          std::string* received = nullptr) {
  bool closed = false;
  std::string bytes = raw.read_until_closed(limit, closed);
  if (received != nullptr) {
    *received = bytes;
  }
  REQUIRE(closed);
  return std::chrono::duration_cast<milliseconds>(Clock::now() - since);
}

}  // namespace

TEST_CASE("slowloris: a head trickled a byte at a time is closed at the read timeout",
          "[e2e][hostile][clients]") {
  Hostile h;
  std::vector<std::unique_ptr<Raw>> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<Raw>(h.edge.port()));
  }
  const std::string head = "GET /assign?user_id=slow HTTP/1.1\r\nHost: x\r\nX-Pad: ";
  const auto started = Clock::now();
  // A byte every 250 ms to each: the head never completes.
  bool any_closed = false;
  for (std::size_t i = 0; i < head.size() && !any_closed; ++i) {
    for (auto& raw : slow) {
      any_closed |= !raw->send(head.substr(i, 1));
    }
    std::this_thread::sleep_for(milliseconds{250});
    any_closed |= Clock::now() - started > kReadTimeout + kSlack;
  }
  for (auto& raw : slow) {
    std::string received;
    const milliseconds took = closed_after(*raw, started, kIdleTimeout + kSlack, &received);
    CHECK(took <= kReadTimeout + kSlack);  // the read timeout, not the longer idle one
    CHECK(received.empty());               // closed without an answer
  }
  h.check_probe("slowloris");
}

TEST_CASE(
    "a body that never ends, or is shorter than its Content-Length, is closed at the "
    "read timeout",
    "[e2e][hostile][clients]") {
  Hostile h;
  SECTION("a chunked body that keeps coming") {
    Raw raw{h.edge.port()};
    REQUIRE(
        raw.send("POST /assign HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n"));
    const auto started = Clock::now();
    bool open = true;
    while (open && Clock::now() - started < kReadTimeout + kSlack) {
      open = raw.send("1\r\n \r\n");
      std::this_thread::sleep_for(milliseconds{50});
    }
    std::string received;
    CHECK(closed_after(raw, started, kSlack, &received) <= kReadTimeout + kSlack);
    CHECK(received.empty());
  }
  SECTION("Content-Length larger than the body") {
    Raw raw{h.edge.port()};
    REQUIRE(
        raw.send("POST /assign HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: 100\r\n\r\n{\"user\":{\"user_id\":\"a\"}}"));
    const auto started = Clock::now();
    std::string received;
    CHECK(closed_after(raw, started, kReadTimeout + kSlack, &received) <= kReadTimeout + kSlack);
    CHECK(received.empty());
  }
  h.check_probe("endless body");
}

TEST_CASE("oversized heads and bodies, malformed request lines and methods get their status",
          "[e2e][hostile][clients]") {
  Hostile h;
  struct Case {
    std::string name;
    std::string bytes;
    int status;
    std::string code;
    bool closes;
  };
  const std::vector<Case> cases = {
      {"head over --max-header-bytes",
       "GET /assign?user_id=a HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n",
       431, "headers_too_large", true},
      {"body over --max-body-bytes",
       "POST /assign HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
       "70000\r\n\r\n" +
           std::string(70000, ' '),
       413, "payload_too_large", true},
      {"no request line", "\r\n\r\n\r\n\r\n", 400, "bad_request", true},
      {"garbage", "GARBAGE\r\n\r\n", 400, "bad_request", true},
      {"no version", "GET /assign\r\n\r\n", 400, "bad_request", true},
      {"bad version", "GET /assign HTTP/9.9\r\nHost: x\r\n\r\n", 400, "bad_request", true},
      {"control bytes", std::string{"\x01\x02\x03 / HTTP/1.1\r\n\r\n", 18}, 400, "bad_request",
       true},
      {"bad Content-Length", "POST /assign HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400,
       "bad_request", true},
      {"two Content-Lengths",
       "POST /assign HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400,
       "bad_request", true},
      {"unknown method", "BREW /assign HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed",
       false},
      {"method of another route", "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405,
       "method_not_allowed", false},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Raw raw{h.edge.port()};
    REQUIRE(raw.send(c.bytes));
    bool closed = false;
    const std::string received = raw.read_until_closed(
        c.closes ? kReadTimeout + kSlack : testing::scaled(milliseconds{300}), closed);
    const std::vector<int> got = statuses(received);
    REQUIRE(got.size() == 1);
    CHECK(got[0] == c.status);
    CHECK(error_code_in(received) == c.code);
    CHECK(closed == c.closes);
  }
  h.check_probe("malformed requests");
}

TEST_CASE("invalid UTF-8 and 100,000-deep nesting in bodies are 400 invalid_json",
          "[e2e][hostile][clients]") {
  Hostile h{{"--max-body-bytes", "1048576"}};
  HttpClient client{h.edge.port()};
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string deep_object =
      R"({"user":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  for (const std::string& body :
       {std::string{"{\"user\":{\"user_id\":\"\xff\xfe\"}}"},
        std::string{"{\"user\":{\"user_id\":\"\xc3\x28\"}}"},
        std::string{"{\"users\":[{\"device_id\":\"\xed\xa0\x80\"}]}"}, deep, deep_object}) {
    for (const char* target : {"/assign", "/assign/batch"}) {
      INFO(target << " " << body.substr(0, 40));
      const HttpResponse response = client.post(target, body);
      CHECK(response.status == 400);
      CHECK(testing::error_code(response) == "invalid_json");
    }
  }
  h.check_probe("bad JSON");
}

TEST_CASE("garbage pipelined after a valid request: the request is answered, then 400 and close",
          "[e2e][hostile][clients]") {
  Hostile h;
  Raw raw{h.edge.port()};
  REQUIRE(
      raw.send("GET /assign?user_id=a HTTP/1.1\r\nHost: x\r\n\r\n"
               "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
               "\x16\x03\x01 garbage \xff\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n"));
  bool closed = false;
  const std::string received = raw.read_until_closed(kReadTimeout + kSlack, closed);
  CHECK(closed);
  CHECK(statuses(received) == std::vector<int>{200, 200, 400});
  CHECK(error_code_in(received) == "bad_request");
  h.check_probe("pipelined garbage");
}

TEST_CASE(
    "a client that pipelines 1,000,000 requests and never reads is closed at the read "
    "timeout, with the server's buffering bounded",
    "[e2e][hostile][clients][buffering]") {
  Hostile h;
  const long rss_before = rss_kb(h.edge.pid());
  std::string batch;
  const std::string one = "GET /assign?user_id=pipelined HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < 10000; ++i) {
    batch += one;
  }
  Raw raw{h.edge.port(), 4096};
  // Non-blocking writes: the client stops when the connection stops taking bytes.
  REQUIRE(::fcntl(raw.fd(), F_SETFL, ::fcntl(raw.fd(), F_GETFL) | O_NONBLOCK) == 0);
  long sent_requests = 0;
  std::size_t offset = 0;
  auto last_progress = Clock::now();
  bool reset = false;
  long rss_max = rss_before;
  // Push until 1,000,000 requests are written, the server closes, or nothing moves for the
  // read timeout and the slack.
  while (sent_requests < 1000000 && !reset &&
         Clock::now() - last_progress < kReadTimeout + kSlack * 2) {
    const ssize_t n = ::send(raw.fd(), batch.data() + offset, batch.size() - offset, MSG_NOSIGNAL);
    if (n > 0) {
      offset += static_cast<std::size_t>(n);
      if (offset == batch.size()) {
        offset = 0;
        sent_requests += 10000;
      }
      last_progress = Clock::now();
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      reset = true;  // EPIPE / ECONNRESET: the server closed it
      break;
    }
    rss_max = std::max(rss_max, rss_kb(h.edge.pid()));
    pollfd p{raw.fd(), POLLOUT, 0};
    (void)::poll(&p, 1, 50);
  }
  const auto stalled_for = Clock::now() - last_progress;
  rss_max = std::max(rss_max, rss_kb(h.edge.pid()));
  std::cout << "pipelining client: " << sent_requests << " requests written whole, closed "
            << (reset ? "by the server" : "never") << " after "
            << std::chrono::duration_cast<milliseconds>(stalled_for).count()
            << " ms without progress; server RSS " << rss_before << " -> max " << rss_max
            << " kB\n";
  CHECK(reset);                             // the server gave up on the client
  CHECK(sent_requests < 1000000);           // it stopped reading while it could not write
  CHECK(rss_max - rss_before < 64 * 1024);  // and buffered little meanwhile
  h.check_probe("pipelining without reading");
}

TEST_CASE("10,000 idle connections are held while /assign answers normally",
          "[e2e][hostile][clients][connections]") {
  // Each connection takes a descriptor here and one in the server: raise this process's limit
  // (the server, its child, inherits it, and raises its own soft limit to --max-connections).
  constexpr int kConnections = 10000;
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  const rlim_t wanted = kConnections + 512;
  if (limit.rlim_max < wanted) {
    rlimit raised{wanted, wanted};
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      WARN("the hard open-file limit is " << limit.rlim_max << " and cannot be raised to " << wanted
                                          << ": skipped");
      return;
    }
  } else if (limit.rlim_cur < wanted) {
    rlimit raised{wanted, limit.rlim_max};
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &raised) == 0);
  }
  Hostile h{{"--idle-timeout", "60s", "--max-connections", std::to_string(kConnections + 10)}};
  std::vector<std::unique_ptr<Raw>> idle;
  idle.reserve(kConnections);
  for (int i = 0; i < kConnections; ++i) {
    idle.push_back(std::make_unique<Raw>(h.edge.port()));
  }
  HttpClient admin{h.edge.port()};
  CHECK(eventually(
      [&] { return testing::metric(admin, "mutex_edge_open_connections") >= kConnections + 2; }));
  h.check_probe("10,000 idle connections");
  idle.clear();
  CHECK(eventually([&] { return testing::metric(admin, "mutex_edge_open_connections") <= 3; },
                   milliseconds{20000}));
}

TEST_CASE("connections beyond --max-connections get 503 and are closed; the others are served",
          "[e2e][hostile][clients][connections]") {
  Hostile h{{"--max-connections", "20"}};
  std::vector<std::unique_ptr<Raw>> held;
  for (int i = 0; i < 18; ++i) {  // with the probe's, 19 of 20
    held.push_back(std::make_unique<Raw>(h.edge.port()));
  }
  HttpClient last{h.edge.port()};  // the 20th
  CHECK(last.get("/healthz").status == 200);
  int refused = 0;
  for (int i = 0; i < 200; ++i) {
    Raw extra{h.edge.port()};
    bool closed = false;
    const std::string received = extra.read_until_closed(kReadTimeout + kSlack, closed);
    refused += static_cast<int>(closed && statuses(received) == std::vector<int>{503} &&
                                error_code_in(received) == "too_many_connections");
  }
  CHECK(refused == 200);
  CHECK(last.get("/healthz").status == 200);
  h.check_probe("connection flood");
}

TEST_CASE("HEAD on every GET route answers as GET, without the body", "[e2e][hostile][http]") {
  Hostile h;
  HttpClient client{h.edge.port()};
  for (const char* target : {"/assign?user_id=a&device_id=d", "/api/1/mutexes",
                             "/api/1/mutexes?limit=1", "/api/1/mutexes/101", "/healthz", "/readyz",
                             "/status", "/metrics", "/nope", "/assign?explain=yes"}) {
    INFO(target);
    const HttpResponse get = client.get(target);
    const HttpResponse head = client.request("HEAD", target, "", {});
    CHECK(head.status == get.status);
    CHECK(head.body.empty());
    CHECK(head.header("content-type") == get.header("content-type"));
    const std::string length = head.header("content-length");
    REQUIRE(!length.empty());
    if (std::string_view{target} != "/status" && std::string_view{target} != "/metrics") {
      CHECK(std::stoul(length) == get.body.size());  // these bodies do not change between calls
    } else {
      CHECK(std::stoul(length) > 0);
    }
  }
  // The connection is still in step: a body sent after a HEAD answer would show here.
  CHECK(client.get("/healthz").body == R"({"status":"ok"})");
  const HttpResponse post = client.request("HEAD", "/assign/batch", "", {});
  CHECK(post.status == 405);
  CHECK(post.header("allow") == "POST");
  h.check_probe("HEAD");
}

TEST_CASE("a user field given twice in the query is refused with a 400", "[e2e][hostile][http]") {
  Hostile h;
  HttpClient client{h.edge.port()};
  for (const char* query :
       {"device_id=a&device_id=b", "user_id=a&device_id=d&user_id=a", "gp:plan=a&gp:plan=b",
        "country=US&country=FR", "cohort_ids=a&cohort_ids=b", "user_id=a&explain=1&explain=0"}) {
    INFO(query);
    const HttpResponse response = client.get(std::string{"/assign?"} + query);
    CHECK(response.status == 400);
    CHECK(testing::error_code(response) == "invalid_query");
    CHECK(response.body.find("more than once") != std::string::npos);
  }
  // A list of groups may come in pieces.
  CHECK(client.get("/assign?user_id=a&mutex=checkout&mutex=pricing").status == 200);
  h.check_probe("repeated fields");
}
