#include "proxy/watchers.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/text.hpp"

namespace mutex_edge::proxy {

std::optional<std::chrono::seconds> preferred_wait(std::string_view prefer) noexcept {
  std::optional<std::chrono::seconds> wait;
  common::for_each_item(prefer, ',', [&](std::string_view item) {
    item = common::trim(item.substr(0, item.find(';')));  // parameters are not ours
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos ||
        !common::iequals(common::trim(item.substr(0, equals)), "wait")) {
      return;
    }
    std::string_view value = common::trim(item.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    std::uint64_t seconds = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (value.empty() || ec != std::errc{} || ptr != value.data() + value.size()) {
      return;
    }
    wait = std::chrono::seconds{
        std::min<std::uint64_t>(seconds, static_cast<std::uint64_t>(kMaxWatchWait.count()))};
  });
  if (wait && wait->count() == 0) {
    return std::nullopt;
  }
  return wait;
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
    if (it->second.etag != etag) {
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

}  // namespace mutex_edge::proxy
