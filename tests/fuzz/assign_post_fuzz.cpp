// POST /assign: the body through RequestDecoder::parse_assign and the engine, by
// mutex-edge's router.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/serving.hpp"

using namespace mutex_edge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = fuzz::text(data, size);
  (void)fuzz::serve(http::Request{.method = http::Method::kPost,
                                  .target = "/assign",
                                  .content_type = "application/json",
                                  .body = body},
                    !fuzz::valid_utf8(body));
  return 0;
}
