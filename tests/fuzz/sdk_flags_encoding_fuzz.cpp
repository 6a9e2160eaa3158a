// An Accept-Encoding value on GET /sdk/v2/flags (Amplitude's local evaluation: the flags of the
// served groups, a shared body built once per configuration), through mutex-edge's router. The
// answer is a 200 in gzip exactly when wire::accepts_gzip takes the value, and, gunzipped or
// not, the same flags as the answer without Accept-Encoding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "wire/sdk_api.hpp"

#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/serving.hpp"

using namespace mutex_edge;

namespace {

const http::Response& flags(std::string_view accept_encoding) {
  return fuzz::serve(http::Request{.method = http::Method::kGet,
                                   .target = "/sdk/v2/flags",
                                   .accept_encoding = accept_encoding},
                     false);
}

/// The flags served without Accept-Encoding. Checked once: they are large enough to be
/// compressed, and are compressed for "gzip" (else this target would check nothing).
const std::string& identity() {
  static const std::string body = [] {
    const http::Response& plain = flags("");
    if (plain.status != 200 || fuzz::gzipped(plain)) {
      fuzz::fail("GET /sdk/v2/flags without Accept-Encoding fails", plain.payload());
    }
    std::string text{plain.payload()};
    if (text.size() < wire::kSdkGzipMinBytes) {
      fuzz::fail("the served flags are too small to be compressed: this target checks nothing",
                 std::to_string(text.size()) + " bytes");
    }
    const http::Response& zipped = flags("gzip");
    if (zipped.status != 200 || !fuzz::gzipped(zipped) || fuzz::gunzip(zipped.payload()) != text) {
      fuzz::fail("GET /sdk/v2/flags with Accept-Encoding: gzip is not the flags in gzip",
                 zipped.headers);
    }
    return text;
  }();
  return body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& plain = identity();
  const std::string_view accept_encoding = fuzz::text(data, size);
  const http::Response& answer = flags(accept_encoding);
  if (answer.status != 200) {
    fuzz::fail("GET /sdk/v2/flags fails for an Accept-Encoding", accept_encoding);
  }
  if (answer.headers.find("Vary: Accept-Encoding\r\n") == std::string::npos) {
    fuzz::fail("GET /sdk/v2/flags is not sent with Vary: Accept-Encoding", answer.headers);
  }
  const bool gzip = wire::accepts_gzip(accept_encoding);  // identity() is large enough
  if (fuzz::gzipped(answer) != gzip) {
    fuzz::fail(gzip ? "the flags are not compressed for an Accept-Encoding that takes gzip"
                    : "the flags are compressed for an Accept-Encoding that refuses gzip",
               accept_encoding);
  }
  if ((gzip ? fuzz::gunzip(answer.payload()) : std::string{answer.payload()}) != plain) {
    fuzz::fail("the flags differ with an Accept-Encoding", accept_encoding);
  }
  return 0;
}
