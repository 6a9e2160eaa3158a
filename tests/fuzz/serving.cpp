#include "tests/fuzz/serving.hpp"

#include <array>
#include <memory>

#include "api/router.hpp"
#include "serving/edge_metrics.hpp"
#include "serving/service.hpp"
#include <zlib.h>

#include "tests/fuzz/fuzz_support.hpp"

namespace mutex_edge::fuzz {
namespace {

struct Serving {
  serving::ServiceOptions settings;
  api::ApiOptions api;
  serving::EdgeMetrics metrics{1};
  serving::Service service{settings, metrics};
  std::unique_ptr<api::Router> router;
  http::Response response;

  Serving() {
    quiet_logs();
    service.apply(serving_page(), cache::SourceKind::kFile, "file:fuzz");
    router = std::make_unique<api::Router>(service, metrics, api, 0);
  }
};

}  // namespace

const http::Response& serve(const http::Request& request, bool input_may_be_bad_utf8) {
  static Serving serving;
  serving.response.reset();
  serving.router->handle(request, serving.response);
  if (serving.response.status == 304) {
    return serving.response;
  }
  const std::string_view payload = serving.response.payload();
  if (serving.response.status >= 500 && serving.response.status != 503) {
    fail("a server error for a client's request", payload);
  }
  if (serving.response.content_type == "application/json") {
    if (gzipped(serving.response)) {
      check_json(gunzip(payload), input_may_be_bad_utf8);
    } else {
      check_json(payload, input_may_be_bad_utf8);
    }
  }
  return serving.response;
}

bool gzipped(const http::Response& response) {
  constexpr std::string_view kLine = "Content-Encoding: gzip\r\n";
  const std::string_view headers = response.headers;
  for (std::size_t at = headers.find(kLine); at != std::string_view::npos;
       at = headers.find(kLine, at + 1)) {
    if (at == 0 || headers[at - 1] == '\n') {
      return true;
    }
  }
  return false;
}

std::string gunzip(std::string_view data) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) {
    fail("zlib's inflateInit2 fails");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  std::array<char, 16384> chunk{};
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk.data());
    stream.avail_out = static_cast<uInt>(chunk.size());
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk.data(), chunk.size() - stream.avail_out);
  }
  const bool whole = result == Z_STREAM_END && stream.avail_in == 0;
  inflateEnd(&stream);
  if (!whole) {
    fail("a gzip answer does not decompress to its end", std::to_string(result));
  }
  return out;
}

}  // namespace mutex_edge::fuzz
