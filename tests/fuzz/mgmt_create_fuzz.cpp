// mutex-mgmt's create request, POST /api/1/mutexes: the body through mgmt::Api (decoded by
// config::decode_create, defaulted, validated, stored). A group created must come back from the
// get endpoint as it was stored, and the listing must stay one that mutex-edge takes whole.
#include <cstddef>
#include <cstdint>
#include <string>

#include <simdjson.h>

#include "config/parser.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/management.hpp"

using namespace mutex_edge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Management& mgmt = fuzz::Management::get();
  const std::string_view body = fuzz::text(data, size);
  const http::Response& created = mgmt.call(http::Request{.method = http::Method::kPost,
                                                          .target = "/api/1/mutexes",
                                                          .content_type = "application/json",
                                                          .body = body},
                                            !fuzz::valid_utf8(body));
  if (created.status == 200) {
    simdjson::dom::parser parser;
    std::int64_t id = 0;
    if (parser.parse(created.body)["id"].get_int64().get(id) != simdjson::SUCCESS) {
      fuzz::fail("a create answer without an id", created.body);
    }
    const std::string target = "/api/1/mutexes/" + std::to_string(id);
    const http::Response& got =
        mgmt.call(http::Request{.method = http::Method::kGet, .target = target}, false);
    if (got.status != 200 || !config::parse_group(got.body)) {
      fuzz::fail("a created group does not read back", got.body);
    }
  }
  mgmt.check_and_reset_if_changed();
  return 0;
}
