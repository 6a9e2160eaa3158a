#pragma once
// Waiting and reading helpers shared by the tests that run our servers.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/timing.hpp"

namespace mutex_edge::testing {

/// Polls `predicate` until it holds or scaled(`timeout`) passes; returns its last answer.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
  const auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return predicate();
}

/// The value of the sample `series` (name and labels, as printed) in the server's /metrics,
/// or -1 when there is none.
double metric(HttpClient& client, const std::string& series);

/// A string field of the server's /status (`object.field` with `field` given), or "".
std::string status_field(HttpClient& client, const char* name, const char* field = nullptr);

/// /status's lastAttempt, its result and error read from one answer (so of one attempt).
struct Attempt {
  std::string result;
  std::string error;
};
Attempt last_attempt(HttpClient& client);

/// Sends GET /assign with changing users on its own connection until finish(); counts answers
/// and keeps each one's latency.
class Load {
 public:
  explicit Load(std::uint16_t port, std::vector<std::pair<std::string, std::string>> headers = {});
  ~Load();
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  void finish();
  [[nodiscard]] long ok() const { return ok_.load(); }
  [[nodiscard]] long failed() const { return failed_.load(); }
  /// The `q` quantile (0..1) of the answers' latencies, in ms; after finish().
  [[nodiscard]] double latency_ms(double q) const;

 private:
  std::vector<double> latencies_ms_;  // written by the load's thread until finish()
  std::atomic<bool> stop_{false};
  std::atomic<long> ok_{0};
  std::atomic<long> failed_{0};
  std::thread thread_;
};

/// `bytes` in base64, standard alphabet, padded (Basic credentials, as a client sends them).
std::string base64(std::string_view bytes);

/// Inflates a gzip stream (a test failure unless it is one, whole).
[[nodiscard]] std::string gunzip(std::string_view data);

}  // namespace mutex_edge::testing
