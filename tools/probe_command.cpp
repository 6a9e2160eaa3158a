#include "tools/probe_command.hpp"

#include <string>
#include <string_view>
#include <vector>

#include "tools/command.hpp"

#include "common/flags.hpp"
#include "http/probe.hpp"

namespace mutex_edge::tools {

int run_probe_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  constexpr std::string_view kUsage =
      "Usage: mutex-edge probe URL [--timeout DURATION]\n\n"
      "GETs URL (e.g. http://127.0.0.1:8080/healthz) once and exits 0 on a 2xx answer, 1 on any\n"
      "other answer or none within the timeout (default 2s), 2 on bad arguments.\n";
  std::vector<std::string> urls;
  common::Duration timeout = std::chrono::seconds{2};
  common::Flags flags{"", "Options"};
  flags.positional("url", urls, "URL", "what to GET, http://host[:port]/path");
  flags.duration("timeout", timeout, "for the whole request", std::chrono::milliseconds{1});
  flags.check([&]() -> std::optional<std::string> {
    if (urls.size() != 1 || !urls.front().starts_with("http://")) {
      return "expected one http:// URL (see --help)";
    }
    return std::nullopt;
  });
  if (const auto done = parse_command(flags, argc, argv, "probe", kUsage, out, err)) {
    return *done;
  }
  const std::string& url = urls.front();
  const http::ProbeResult result = http::probe(url, timeout);
  if (result.status == 0) {
    err << "mutex-edge probe: " << url << ": " << result.error << '\n';
    return 1;
  }
  out << url << ": " << result.status << '\n';
  return result.status >= 200 && result.status < 300 ? 0 : 1;
}

}  // namespace mutex_edge::tools
