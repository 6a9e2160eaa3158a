#include "api/watchers.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/text.hpp"
#include "http/etag.hpp"

namespace mutex_edge::api {

namespace {

/// Where the first `stop` character outside a quoted string is in `text` (a backslash in quotes
/// escapes the next character; an unterminated quote runs to the end), or text.size().
std::size_t find_unquoted(std::string_view text, std::string_view stops) noexcept {
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (stops.find(c) != std::string_view::npos) {
      return i;
    }
  }
  return text.size();
}

/// The seconds of a wait preference's value (`5` or `"5"`; delta-seconds, capped), or nothing.
std::optional<std::chrono::seconds> wait_value(std::string_view value) noexcept {
  value = common::trim(value);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  if (value.empty() ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t seconds = 0;
  const auto read = std::from_chars(value.data(), value.data() + value.size(), seconds);
  const auto cap = static_cast<std::uint64_t>(kMaxWatchWait.count());
  if (read.ec == std::errc::result_out_of_range || seconds > cap) {
    seconds = cap;  // more digits than 64 bits hold: a very long wait
  }
  if (seconds == 0) {
    return std::nullopt;
  }
  return std::chrono::seconds{seconds};
}

}  // namespace

std::optional<std::chrono::seconds> preferred_wait(std::string_view prefer) noexcept {
  // Preferences are separated by commas, and a preference's parameters by ';', outside quoted
  // strings; only the first `wait` counts (RFC 7240, section 2), well formed or not.
  while (true) {
    const std::size_t comma = find_unquoted(prefer, ",");
    std::string_view item = prefer.substr(0, comma);
    item = item.substr(0, find_unquoted(item, ";"));  // its parameters are not ours
    const std::size_t equals = item.find('=');
    if (common::iequals(common::trim(item.substr(0, equals)), "wait")) {
      return equals == std::string_view::npos ? std::nullopt : wait_value(item.substr(equals + 1));
    }
    if (comma == prefer.size()) {
      return std::nullopt;
    }
    prefer.remove_prefix(comma + 1);
  }
}

Watchers::~Watchers() {
  *alive_ = false;
}

void Watchers::hold(http::Exchange& exchange, http::Response& response, std::string etag,
                    std::string query, Clock::duration wait) {
  if (!timer_) {
    timer_.emplace(exchange.executor());
  }
  const Clock::time_point deadline = Clock::now() + wait;
  held_.emplace(deadline, Held{exchange.defer(), &response, std::move(etag), std::move(query)});
  if (deadline < armed_for_) {
    arm();
  }
}

void Watchers::arm() {
  if (held_.empty()) {
    armed_for_ = Clock::time_point::max();
    timer_->cancel();
    return;
  }
  armed_for_ = held_.begin()->first;
  timer_->expires_at(armed_for_);  // cancels a wait for a later deadline
  timer_->async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!ec && *alive) {
      expire();
    }
  });
}

void Watchers::expire() {
  armed_for_ = Clock::time_point::max();
  answer(held_.begin(), held_.upper_bound(Clock::now()));
  if (!held_.empty()) {
    arm();
  }
}

void Watchers::answer(std::multimap<Clock::time_point, Held>::iterator first,
                      std::multimap<Clock::time_point, Held>::iterator last) {
  // Taken out first: answering writes to the connection, which may end the session.
  std::vector<Held> due;
  for (auto it = first; it != last; ++it) {
    due.push_back(std::move(it->second));
  }
  held_.erase(first, last);
  for (Held& held : due) {
    answer_(held);
  }
}

void Watchers::changed(std::string_view etag) {
  std::vector<Held> due;
  for (auto it = held_.begin(); it != held_.end();) {
    if (!http::etag_matches(it->second.etag, etag)) {
      due.push_back(std::move(it->second));
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  if (due.empty()) {
    return;
  }
  if (held_.empty() && timer_) {
    armed_for_ = Clock::time_point::max();
    timer_->cancel();
  }
  for (Held& held : due) {
    answer_(held);
  }
}

void Watchers::release_all() {
  answer(held_.begin(), held_.end());
  if (timer_) {
    armed_for_ = Clock::time_point::max();
    timer_->cancel();
  }
}

}  // namespace mutex_edge::api
