// Hostile upstreams against the real mutex-edge binary's poller: an upstream written here,
// byte by byte, that answers with what no Management API should. Each test keeps a client
// on /assign throughout and requires that not one of its requests fails.
#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "config/model.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/edge_process.hpp"
#include "tests/support/files.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/http_client.hpp"

using namespace mutex_edge;
using std::chrono::milliseconds;
using testing::EdgeProcess;
using testing::eventually;
using testing::HttpClient;
using testing::Load;
using testing::metric;
using testing::status_field;

namespace {

/// An upstream that answers each request with whatever its current script writes to the
/// socket. One thread per connection; a script returns false to close the connection.
class ScriptedUpstream {
 public:
  /// Writes to the connection: false once the client has gone (or the upstream is stopping).
  class Connection {
   public:
    Connection(int fd, const std::atomic<bool>& stopping) : fd_{fd}, stopping_{stopping} {}
    bool write(std::string_view bytes) {
      while (!bytes.empty()) {
        if (stopping_.load()) {
          return false;
        }
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) {
          return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
      }
      return true;
    }
    bool pause(milliseconds how_long) {
      const auto until = std::chrono::steady_clock::now() + how_long;
      while (std::chrono::steady_clock::now() < until) {
        if (stopping_.load()) {
          return false;
        }
        std::this_thread::sleep_for(milliseconds{5});
      }
      return true;
    }

   private:
    int fd_;
    const std::atomic<bool>& stopping_;
  };
  /// Answers the request for `target` (e.g. "/api/1/mutexes?limit=1000&cursor=2").
  using Script = std::function<bool(Connection&, const std::string& target)>;

  explicit ScriptedUpstream(Script script) : script_{std::move(script)} {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 64) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread{[this] { accept_loop(); }};
  }
  ~ScriptedUpstream() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    ::close(listener_);
    std::lock_guard lock{mutex_};
    for (int fd : fds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
    for (std::thread& t : connections_) {
      t.join();
    }
    for (int fd : fds_) {
      ::close(fd);
    }
  }
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set(Script script) {
    std::lock_guard lock{mutex_};
    script_ = std::move(script);
  }
  [[nodiscard]] long requests() const { return requests_.load(); }

 private:
  void accept_loop() {
    while (!stopping_.load()) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        return;
      }
      std::lock_guard lock{mutex_};
      fds_.push_back(fd);
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  }
  void serve(int fd) {
    Connection connection{fd, stopping_};
    std::string buffer;
    char chunk[4096];
    while (!stopping_.load()) {
      const std::size_t end = buffer.find("\r\n\r\n");
      if (end == std::string::npos) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) {
          return;
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      const std::string line = buffer.substr(0, buffer.find("\r\n"));
      buffer.erase(0, end + 4);
      const std::size_t space = line.find(' ');
      const std::string target = line.substr(space + 1, line.rfind(' ') - space - 1);
      ++requests_;
      Script script;
      {
        std::lock_guard lock{mutex_};
        script = script_;
      }
      if (!script(connection, target)) {
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
    }
  }

  std::mutex mutex_;
  Script script_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<long> requests_{0};
  std::thread acceptor_;
  std::vector<std::thread> connections_;
  std::vector<int> fds_;
};

std::string ok_head(std::size_t length, const std::string& extra = {}) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(length) + "\r\n" + extra + "\r\n";
}

/// A script answering every request with `body` whole.
ScriptedUpstream::Script answering(std::string body) {
  return [body = std::move(body)](ScriptedUpstream::Connection& c, const std::string&) {
    return c.write(ok_head(body.size()) + body);
  };
}

// Keys that must never show in the edge's log, /status or /metrics, whatever the upstream did.
const std::string kUpstreamKey = "upstream-key-hostile-4f4f";
const std::string kClientKey = "client-key-hostile-7e7e";

/// A served edge polling a hostile upstream, under load (with a client key, as --require-key
/// wants).
struct Hostile {
  ScriptedUpstream upstream;
  EdgeProcess edge;
  HttpClient client;
  std::unique_ptr<Load> load;

  explicit Hostile(std::vector<std::string> more = {}, int groups = 5)
      : upstream{answering(testing::many_groups_json(groups))},
        edge{[&] {
               more.emplace_back("--require-key");
               more.insert(more.end(), {"--threads", "2"});
               return testing::fast_polling(upstream.url(), std::move(more));
             }(),
             {{"MUTEX_EDGE_API_KEY", kUpstreamKey}, {"MUTEX_EDGE_CLIENT_KEYS", kClientKey}}},
        client{edge.port()} {
    REQUIRE(eventually([&] { return client.get("/readyz").status == 200; }));
    REQUIRE(metric(client, "mutex_edge_config_groups") == groups);
    load = std::make_unique<Load>(edge.port(), std::vector<std::pair<std::string, std::string>>{
                                                   {"Authorization", "Bearer " + kClientKey}});
  }

  /// Turns the upstream hostile and waits until a poll has failed with `error` in its message.
  void turn(ScriptedUpstream::Script script, const std::string& error,
            milliseconds within = milliseconds{15000}) {
    upstream.set(std::move(script));
    std::string last;
    const bool seen = eventually(
        [&] {
          last = testing::last_attempt(client).error;
          return last.find(error) != std::string::npos;
        },
        within);
    INFO("last error: " << last);
    CHECK(seen);
  }

  /// The last good config is still served, and the load saw no failure.
  void check_served(double groups) {
    CHECK(metric(client, "mutex_edge_config_groups") == groups);
    CHECK(client.get("/readyz").status == 200);
    const long before = load->ok();
    CHECK(eventually([&] { return load->ok() >= before + 50 || load->failed() != 0; }));
    load->finish();
    std::cout << "load: " << load->ok() << " answers, " << load->failed() << " failed, p99 "
              << load->latency_ms(0.99) << " ms\n";
    CHECK(load->failed() == 0);
    CHECK(edge.running());
    const std::string seen = edge.log() + client.get("/status").body + client.get("/metrics").body;
    CHECK(seen.find(kUpstreamKey) == std::string::npos);
    CHECK(seen.find(kClientKey) == std::string::npos);
  }
};

/// A page of the list endpoint with `next` as its nextCursor.
std::string with_cursor(std::string page, const std::string& next) {
  const std::string last = R"("nextCursor":null)";
  const std::size_t at = page.rfind(last);
  REQUIRE(at != std::string::npos);
  return page.replace(at, last.size(), R"("nextCursor":")" + next + "\"");
}

std::string groups_with_description(int count, std::size_t description_bytes) {
  std::vector<config::GroupConfig> groups = testing::many_groups(count);
  for (auto& group : groups) {
    group.description = std::string(description_bytes, 'd');
  }
  return testing::list_json(groups);
}

}  // namespace

TEST_CASE("an upstream body that never ends, or is over --max-upstream-bytes, fails the poll",
          "[e2e][hostile][upstream][cap]") {
  Hostile h{{"--max-upstream-bytes", "200000"}};
  SECTION("chunks without end") {
    h.turn(
        [](ScriptedUpstream::Connection& c, const std::string&) {
          if (!c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n")) {
            return false;
          }
          const std::string chunk = "4000\r\n" + std::string(0x4000, ' ') + "\r\n";
          while (c.write(chunk)) {
          }
          return false;
        },
        "takes the listing past --max-upstream-bytes (200000 bytes)");
    h.check_served(5);
  }
  SECTION("a Content-Length over the cap") {
    h.turn(
        [](ScriptedUpstream::Connection& c, const std::string&) {
          return c.write(ok_head(50'000'000)) && c.write(std::string(100000, ' ')) && false;
        },
        "takes the listing past --max-upstream-bytes");
    h.check_served(5);
  }
  SECTION("pages each under the cap that together are over it") {
    // Three pages of about 90 kB each: the third crosses 200,000 bytes.
    h.turn(
        [](ScriptedUpstream::Connection& c, const std::string& target) {
          const std::string cursor = target.find("cursor=") == std::string::npos
                                         ? "0"
                                         : target.substr(target.find("cursor=") + 7);
          const std::string body =
              with_cursor(groups_with_description(5, 16000), std::to_string(std::stoi(cursor) + 1));
          return c.write(ok_head(body.size()) + body);
        },
        "page 3 takes the listing past --max-upstream-bytes");
    h.check_served(5);
  }
}

TEST_CASE("an upstream page dribbled a byte at a time fails at the page timeout",
          "[e2e][hostile][upstream]") {
  Hostile h;
  h.turn(
      [](ScriptedUpstream::Connection& c, const std::string&) {
        const std::string body = testing::many_groups_json(6);
        const std::string all = ok_head(body.size()) + body;
        for (char byte : all) {
          if (!c.write(std::string_view{&byte, 1}) || !c.pause(milliseconds{20})) {
            return false;
          }
        }
        return true;
      },
      "timed out reading page 1");
  h.check_served(5);
}

TEST_CASE("chunked pages are read; a gzip page is refused with a clear error",
          "[e2e][hostile][upstream]") {
  Hostile h;
  SECTION("chunked, in small chunks") {
    h.upstream.set([](ScriptedUpstream::Connection& c, const std::string&) {
      const std::string body = testing::many_groups_json(7);
      std::string out =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\n\r\n";
      for (std::size_t at = 0; at < body.size(); at += 100) {
        const std::string piece = body.substr(at, 100);
        char size[16];
        std::snprintf(size, sizeof size, "%zx", piece.size());
        out += std::string{size} + "\r\n" + piece + "\r\n";
      }
      out += "0\r\n\r\n";
      return c.write(out);
    });
    CHECK(eventually([&] { return metric(h.client, "mutex_edge_config_groups") == 7; }));
    h.check_served(7);
  }
  SECTION("gzip, which the poller did not ask for") {
    h.turn(
        [](ScriptedUpstream::Connection& c, const std::string&) {
          const std::string body = "\x1f\x8b\x08\x00garbage";
          return c.write(ok_head(body.size(), "Content-Encoding: gzip\r\n") + body);
        },
        R"(came with Content-Encoding: "gzip")");
    h.check_served(5);
  }
}

TEST_CASE("a listing whose nextCursor loops fails the poll", "[e2e][hostile][upstream]") {
  Hostile h;
  h.turn(
      [](ScriptedUpstream::Connection& c, const std::string& target) {
        // a -> b -> a -> ...
        const bool at_a = target.find("cursor=a") != std::string::npos;
        const std::string body = with_cursor(testing::many_groups_json(2), at_a ? "b" : "a");
        return c.write(ok_head(body.size()) + body);
      },
      "nextCursor repeats");
  h.check_served(5);
}

TEST_CASE("a listing of no groups after one of many keeps the last good config, unless allowed",
          "[e2e][hostile][upstream][empty]") {
  SECTION("by default") {
    Hostile h{{}, 50};
    h.turn(answering(R"({"mutexes":[]})"), "--allow-empty-config");
    CHECK(testing::last_attempt(h.client).result == "empty_refused");
    // Also when every group of the listing is invalid.
    h.turn(answering(R"({"mutexes":[{"id":1}]})"), "lists no valid group while 50 are served");
    h.check_served(50);
  }
  SECTION("from an upstream that answers 304 when nothing changed") {
    // A chained mutex-edge upstream, serving an empty file (it allows that itself): the
    // refused listing's ETag is not kept, so later polls refuse it again instead of taking a
    // 304 for a confirmation.
    testing::TempDir dir;
    const auto file = dir.write("groups.json", testing::many_groups_json(50));
    EdgeProcess upstream{{"--config-file", file.string(), "--config-reload-interval", "50ms",
                          "--allow-empty-config"}};
    EdgeProcess edge{testing::fast_polling("http://127.0.0.1:" + std::to_string(upstream.port()))};
    HttpClient client{edge.port()};
    REQUIRE(eventually([&] { return metric(client, "mutex_edge_config_groups") == 50; }));
    dir.write("groups.json", R"({"mutexes":[]})");
    REQUIRE(eventually([&] { return testing::last_attempt(client).result == "empty_refused"; }));
    const double refused =
        metric(client, R"(mutex_edge_upstream_polls_total{outcome="invalid_response"})");
    CHECK(eventually([&] {
      return metric(client, R"(mutex_edge_upstream_polls_total{outcome="invalid_response"})") >=
             refused + 3;
    }));
    CHECK(testing::last_attempt(client).result == "empty_refused");
    CHECK(metric(client, "mutex_edge_config_groups") == 50);
  }
  SECTION("with --allow-empty-config") {
    Hostile h{{"--allow-empty-config"}, 50};
    h.upstream.set(answering(R"({"mutexes":[]})"));
    CHECK(eventually([&] { return metric(h.client, "mutex_edge_config_groups") == 0; }));
    h.check_served(0);
  }
}

TEST_CASE("hostile but valid groups: 20 slots of 100,000 individuals, 64 KB keys",
          "[e2e][hostile][upstream][large]") {
  Hostile h;
  std::vector<config::GroupConfig> groups = testing::many_groups(5);
  config::GroupConfig crowded = testing::make_group(6, "crowded", 5);
  crowded.slots.clear();
  for (int slot = 0; slot < 20; ++slot) {
    config::SlotConfig s;
    s.index = slot + 1;
    s.name = "SLOT " + std::to_string(slot + 1);
    s.variant_key = "slot-" + std::to_string(slot + 1);
    s.percentage = 5;
    s.experiments = {slot + 1};
    for (int i = 0; i < 100000; ++i) {
      s.individuals.push_back("s" + std::to_string(slot) + "-u" + std::to_string(i));
    }
    crowded.slots.push_back(std::move(s));
  }
  groups.push_back(std::move(crowded));
  config::GroupConfig long_key = testing::make_group(7, std::string(64 * 1024, 'k'));
  groups.push_back(std::move(long_key));
  const std::string body = testing::list_json(groups);
  std::cout << "hostile listing: " << body.size() << " bytes\n";
  h.upstream.set(answering(body));
  // Built on the sync thread while the load goes on; the long key's group is left out.
  CHECK(eventually([&] { return metric(h.client, "mutex_edge_config_groups") == 6; },
                   milliseconds{120000}));
  CHECK(metric(h.client, "mutex_edge_config_rejected_groups") == 1);
  const std::string answer = h.client
                                 .get("/assign?user_id=s17-u99999&mutex=crowded",
                                      {{"Authorization", "Bearer " + kClientKey}})
                                 .body;
  CHECK(answer.find(R"("slot":"slot-18")") != std::string::npos);
  CHECK(answer.find(R"("individual")") != std::string::npos);
  h.check_served(6);
}
