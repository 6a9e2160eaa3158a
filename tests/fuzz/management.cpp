#include "tests/fuzz/management.hpp"

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/snapshots.hpp"

namespace mutex_edge::fuzz {

Management& Management::get() {
  static Management management;
  return management;
}

Management::Management() {
  quiet_logs();
  options_.require_auth = false;
  options_.fallback_host = "127.0.0.1:8081";
  reset();
}

void Management::reset() {
  api_.reset();
  store_.reset();
  const std::filesystem::path db = scratch_dir() / "mgmt.db";
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    std::filesystem::remove(db.string() + suffix, ec);
  }
  auto opened = mgmt::Store::open(db.string());
  if (!opened) {
    fail("cannot open the database", opened.error().message);
  }
  store_ = std::move(*opened);
  auto seeded = store_->seed_if_empty(serving_page().groups);
  if (!seeded || *seeded == 0) {
    fail("cannot seed the database");
  }
  seeded_version_ = store_->data_version();
  api_ = std::make_unique<mgmt::Api>(*store_, keys_, options_);
}

const http::Response& Management::call(const http::Request& request, bool input_may_be_bad_utf8) {
  (void)api_->handle(request, response_);
  if (response_.status >= 500) {
    fail("a server error for a client's request", response_.body);
  }
  check_json(response_.body, input_may_be_bad_utf8);
  return response_;
}

void Management::check_and_reset_if_changed() {
  if (store_->data_version() == seeded_version_) {
    return;
  }
  // GET /api/1/mutexes?limit=1000: every group, in one page (the seed and a created one).
  http::Response& listing = response_;
  (void)api_->handle(
      http::Request{.method = http::Method::kGet, .target = "/api/1/mutexes?limit=1000"}, listing);
  if (listing.status != 200) {
    fail("the listing fails after a write", listing.body);
  }
  auto page = config::parse_list_page(listing.body, serving_options(nullptr));
  if (!page || !page->rejected.empty() || page->next_cursor) {
    fail("mutex-edge does not take the listing of mutex-mgmt after a write",
         page && !page->rejected.empty() ? page->rejected.front().to_string() : listing.body);
  }
  std::vector<config::ConfigError> rejected;
  auto snapshot = build(*page, 1, "upstream:mgmt", rejected, nullptr);
  if (!rejected.empty()) {
    fail("mutex-edge leaves a group of mutex-mgmt out", rejected.front().to_string());
  }
  check_served_copy(*snapshot);
  reset();
}

}  // namespace mutex_edge::fuzz
