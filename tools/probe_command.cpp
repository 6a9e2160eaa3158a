#include "tools/probe_command.hpp"

#include <string>
#include <string_view>

#include "common/flags.hpp"
#include "http/probe.hpp"

namespace mutex_edge::tools {

int run_probe_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  constexpr std::string_view kUsage =
      "Usage: mutex-edge probe URL [--timeout DURATION]\n\n"
      "GETs URL (e.g. http://127.0.0.1:8080/healthz) once and exits 0 on a 2xx answer, 1 on any\n"
      "other answer or none within the timeout (default 2s), 2 on bad arguments.\n";
  std::string url;
  common::Duration timeout = std::chrono::seconds{2};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      out << kUsage;
      return 0;
    }
    if (arg == "--timeout" && i + 1 < argc) {
      auto parsed = common::parse_duration(argv[++i]);
      if (!parsed || *parsed <= common::Duration::zero()) {
        err << "mutex-edge probe: --timeout: expected a duration such as 500ms or 2s, got '"
            << argv[i] << "'\n";
        return 2;
      }
      timeout = *parsed;
    } else if (url.empty() && !arg.starts_with("-")) {
      url = arg;
    } else {
      err << "mutex-edge probe: unexpected argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (!url.starts_with("http://")) {
    err << (url.empty() ? std::string{} : "mutex-edge probe: expected an http:// URL\n") << kUsage;
    return 2;
  }
  const http::ProbeResult result = http::probe(url, timeout);
  if (result.status == 0) {
    err << "mutex-edge probe: " << url << ": " << result.error << '\n';
    return 1;
  }
  out << url << ": " << result.status << '\n';
  return result.status >= 200 && result.status < 300 ? 0 : 1;
}

}  // namespace mutex_edge::tools
