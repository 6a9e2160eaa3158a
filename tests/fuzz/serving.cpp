#include "tests/fuzz/serving.hpp"

#include <memory>

#include "proxy/edge_metrics.hpp"
#include "proxy/router.hpp"
#include "proxy/service.hpp"
#include "proxy/settings.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace mutex_edge::fuzz {
namespace {

struct Serving {
  proxy::Settings settings;
  proxy::EdgeMetrics metrics{1};
  proxy::Service service{settings, metrics};
  std::unique_ptr<proxy::Router> router;
  http::Response response;

  Serving() {
    quiet_logs();
    service.apply(serving_page(), cache::SourceKind::kFile, "file:fuzz");
    router = std::make_unique<proxy::Router>(service, metrics, settings, 0);
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
  if (serving.response.status >= 500 && serving.response.status != 503) {
    fail("a server error for a client's request", serving.response.body);
  }
  if (serving.response.content_type == "application/json") {
    check_json(serving.response.body, input_may_be_bad_utf8);
  }
  return serving.response;
}

}  // namespace mutex_edge::fuzz
