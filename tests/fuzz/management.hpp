#pragma once

#include <memory>
#include <string_view>

#include "http/bearer_keys.hpp"
#include "http/server.hpp"
#include "mgmt/api.hpp"
#include "mgmt/store.hpp"

// mutex-mgmt's API on a database of its own (on tmpfs), seeded with the example groups, for the
// targets of its write requests.
namespace mutex_edge::fuzz {

class Management {
 public:
  /// The instance of this process, seeded.
  static Management& get();

  /// Answers `request` as a mutex-mgmt worker does (without API keys), then aborts on a server
  /// error or an answer that is not JSON.
  const http::Response& call(const http::Request& request, bool input_may_be_bad_utf8);
  /// After a write: aborts unless the listing, as mutex-edge's poller reads it, holds every
  /// listed group valid and builds a snapshot without rejections; then starts afresh from the
  /// seed, so that every input meets the same database.
  void check_and_reset_if_changed();

 private:
  Management();
  void reset();

  http::BearerKeys keys_;
  mgmt::Api::Options options_;
  std::unique_ptr<mgmt::Store> store_;
  std::unique_ptr<mgmt::Api> api_;
  std::uint64_t seeded_version_ = 0;
  http::Response response_;
};

}  // namespace mutex_edge::fuzz
