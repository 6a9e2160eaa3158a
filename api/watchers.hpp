#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/steady_timer.hpp>

#include "http/server.hpp"

namespace mutex_edge::api {

/// The longest wait a watch request may ask for (`Prefer: wait=N`, seconds); longer ones are
/// held this long. Advertised in wire::kWatchHeader.
inline constexpr std::chrono::seconds kMaxWatchWait{120};

/// The wait of a `Prefer` header's `wait=N` preference (RFC 7240: delta-seconds, bare or quoted;
/// capped at kMaxWatchWait), or nothing when it asks for none (absent, 0, or malformed). Commas
/// and semicolons inside quoted strings separate nothing, and only the first `wait` counts.
[[nodiscard]] std::optional<std::chrono::seconds> preferred_wait(std::string_view prefer) noexcept;

/// The watch requests one worker holds: deferred answers (http::Exchange::defer) in a map by
/// deadline, with one timer for the worker (set to the earliest deadline), so that a held
/// request costs no thread and no timer of its own. Thread-confined, as the worker's handler.
class Watchers {
 public:
  using Clock = std::chrono::steady_clock;

  struct Held {
    std::function<void(http::Outcome)> end;  // from Exchange::defer
    http::Response* response = nullptr;      // the session's, alive while `end` is
    std::string etag;                        // its If-None-Match, as the client sent it
    std::string query;                       // the request's query, to answer it later
  };
  /// Fills a held request's response (the state served then) and ends it.
  using Answer = std::function<void(Held&)>;

  explicit Watchers(Answer answer) : answer_{std::move(answer)} {}
  ~Watchers();
  Watchers(const Watchers&) = delete;
  Watchers& operator=(const Watchers&) = delete;

  /// Holds the request until changed() names an ETag its If-None-Match does not match,
  /// release_all(), or `wait` ends.
  void hold(http::Exchange& exchange, http::Response& response, std::string etag, std::string query,
            Clock::duration wait);
  /// Answers the held requests whose If-None-Match no longer matches `etag`
  /// (http::etag_matches), after a publication.
  void changed(std::string_view etag);
  /// Answers every held request now (the server drains).
  void release_all();
  [[nodiscard]] std::size_t size() const noexcept { return held_.size(); }

 private:
  void arm();
  void expire();
  void answer(std::multimap<Clock::time_point, Held>::iterator first,
              std::multimap<Clock::time_point, Held>::iterator last);

  Answer answer_;
  std::multimap<Clock::time_point, Held> held_;
  std::optional<boost::asio::steady_timer> timer_;  // made on the first hold, on its executor
  Clock::time_point armed_for_ = Clock::time_point::max();
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mutex_edge::api
