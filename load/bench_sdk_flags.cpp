// What GET /sdk/v2/flags costs to build and to download at a configuration's size: the design
// served (runs of about 16 groups' flags, each deflated on its own, so that a swap copies the
// compressed runs it keeps and deflates only the runs around a change) against one deflate of
// the whole body per snapshot, the reference measured in the same run.
//
//   build after a one-group edit: build_sdk_flags with the previous snapshot's flags (the JSON
//             of the unchanged groups and the compressed runs of unchanged groups copied) against
//             writing the same body and gzipping it in one stream (level 6, and level 1);
//   first request: the build from nothing, which the first SDK request of a configuration
//             waits for (flags are built on demand), against the same one-stream gzip;
//   size and inflate: the bytes every SDK downloads after a change, and the client's time to
//             inflate them (zlib), per design.
//
//   mutex-edge-bench-sdk-flags [--seconds 0.3] [--groups 10000]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "wire/sdk_api.hpp"
#include <zlib.h>

#include "cache/snapshot.hpp"
#include "load/bench_args.hpp"
#include "load/bench_groups.hpp"

namespace {

using namespace mutex_edge;

volatile std::uint64_t g_sink = 0;  // keeps the optimiser from dropping the work

/// `body` gzipped in one stream at `level`.
std::string gzip_whole(const std::string& body, int level) {
  z_stream stream{};
  if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    std::abort();
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(body.size())) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) {
    std::abort();
  }
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

/// Inflates a gzip stream; aborts unless it gives back `expected` bytes.
std::size_t gunzip(const std::string& zipped, std::string& out, std::size_t expected) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) {
    std::abort();
  }
  out.resize(expected + 16);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zipped.data()));
  stream.avail_in = static_cast<uInt>(zipped.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (inflate(&stream, Z_FINISH) != Z_STREAM_END || stream.total_out != expected) {
    std::abort();
  }
  const std::size_t n = stream.total_out;
  inflateEnd(&stream);
  return n;
}

void row(const char* what, double ms, double reference_ms) {
  std::printf("%-58s %10.2f ms %7.2f x reference\n", what, ms, ms / reference_ms);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = bench::number_arg(argc, argv, "--seconds", 0.3);
  const auto count = static_cast<std::size_t>(bench::number_arg(argc, argv, "--groups", 10000));
  if (count < 2) {
    std::fprintf(stderr, "mutex-edge-bench-sdk-flags: --groups must be at least 2\n");
    return 2;
  }
  config::ListPage page;
  page.groups = bench::make_groups(count, 3);
  std::vector<config::ConfigError> rejected;
  const auto before = cache::Snapshot::build(page, 1, {}, rejected);
  page.groups[count / 2].slots.front().experiments.push_back(99);  // one group's flag changes
  const auto after = cache::Snapshot::build(page, 2, {}, rejected, before.get());
  if (!rejected.empty()) {
    std::fprintf(stderr, "mutex-edge-bench-sdk-flags: %zu groups rejected\n", rejected.size());
    return 1;
  }
  const auto previous = wire::build_sdk_flags(*before);

  // ---- a swap after a one-group edit
  std::shared_ptr<const wire::SdkFlags> joined;
  const double joined_ms = bench::measure_ms(
      seconds, [&] { joined = wire::build_sdk_flags(*after, before.get(), previous.get()); });
  const std::string& body = *joined->body;
  std::string whole6;
  std::string whole1;
  const double whole6_ms = bench::measure_ms(seconds, [&] { whole6 = gzip_whole(body, 6); });
  const double whole1_ms = bench::measure_ms(seconds, [&] { whole1 = gzip_whole(body, 1); });
  std::printf("%zu groups: body %.2f MB\n\n", count, static_cast<double>(body.size()) / 1e6);
  std::printf("a swap after a one-group edit (on the sources' thread)\n");
  row("reference: one-stream gzip of the body, level 6", whole6_ms, whole6_ms);
  row("one-stream gzip of the body, level 1", whole1_ms, whole6_ms);
  row("build_sdk_flags, unchanged groups copied (served design)", joined_ms, whole6_ms);

  // ---- the first request of a configuration
  const double first_ms = bench::measure_ms(
      seconds, [&] { g_sink = g_sink + wire::build_sdk_flags(*after)->spans.size(); });
  std::printf("\nthe first SDK request of a configuration (built on demand)\n");
  row("reference: body + one-stream gzip, level 6 (JSON not counted)", whole6_ms, whole6_ms);
  row("build_sdk_flags from nothing (served design)", first_ms, whole6_ms);

  // ---- what every SDK downloads and inflates
  std::string inflated;
  const double inflate_joined_ms = bench::measure_ms(
      seconds, [&] { g_sink = g_sink + gunzip(*joined->gzip, inflated, body.size()); });
  if (inflated.compare(0, body.size(), body) != 0) {
    std::fprintf(stderr,
                 "mutex-edge-bench-sdk-flags: the served gzip does not inflate to the body\n");
    return 1;
  }
  const double inflate_whole_ms =
      bench::measure_ms(seconds, [&] { g_sink = g_sink + gunzip(whole6, inflated, body.size()); });
  std::printf("\nwhat each SDK downloads after a change\n");
  std::printf("%-58s %10.2f MB %7.2f x reference\n", "reference: one-stream gzip, level 6",
              static_cast<double>(whole6.size()) / 1e6, 1.0);
  std::printf("%-58s %10.2f MB %7.2f x reference\n", "one-stream gzip, level 1",
              static_cast<double>(whole1.size()) / 1e6,
              static_cast<double>(whole1.size()) / static_cast<double>(whole6.size()));
  std::printf("%-58s %10.2f MB %7.2f x reference\n", "runs of about 16 groups (served design)",
              static_cast<double>(joined->gzip->size()) / 1e6,
              static_cast<double>(joined->gzip->size()) / static_cast<double>(whole6.size()));
  row("client inflate, reference (one stream, level 6)", inflate_whole_ms, inflate_whole_ms);
  row("client inflate, runs (served design)", inflate_joined_ms, inflate_whole_ms);
  return 0;
}
