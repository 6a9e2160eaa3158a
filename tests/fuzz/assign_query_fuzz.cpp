// GET /assign?<input> (common::QueryParams, then RequestDecoder::parse_query and the engine) and
// GET /api/1/mutexes?<input> (limit and cursor), through mutex-edge's router.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/serving.hpp"

using namespace mutex_edge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::string target;
  for (const char* path : {"/assign?", "/api/1/mutexes?"}) {
    target.assign(path);
    target.append(fuzz::text(data, size));
    // Percent-decoding makes any byte: an unknown key the answer echoes may be bad UTF-8.
    (void)fuzz::serve(http::Request{.method = http::Method::kGet, .target = target}, true);
  }
  return 0;
}
