// The sources' pure parts: the poll backoff, the vocabularies, persistence on disk, the file.
#include <random>
#include <set>

#include "sources/file_source.hpp"
#include "sources/persistence.hpp"
#include "sources/upstream_source.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "cache/provenance.hpp"
#include "common/file.hpp"
#include "tests/support/files.hpp"
#include "tests/support/groups.hpp"

using namespace mutex_edge;
using cache::PollOutcome;
using sources::UpstreamSource;
using std::chrono::milliseconds;

TEST_CASE("backoff doubles with jitter, honours Retry-After and slows down on 401",
          "[cache][upstream]") {
  sources::UpstreamOptions options;
  options.interval = milliseconds{10000};
  options.jitter = milliseconds{1000};
  options.failure_interval = milliseconds{1000};
  options.backoff_max = milliseconds{60000};
  std::mt19937_64 rng{7};
  for (int i = 0; i < 200; ++i) {
    for (PollOutcome fine :
         {PollOutcome::kUpdated, PollOutcome::kUnchanged, PollOutcome::kNotModified}) {
      const auto ok = UpstreamSource::next_delay(options, fine, 0, {}, rng);
      REQUIRE(ok >= milliseconds{9000});
      REQUIRE(ok <= milliseconds{11000});
    }
    for (unsigned failures = 1; failures <= 10; ++failures) {
      const auto d =
          UpstreamSource::next_delay(options, PollOutcome::kNetworkError, failures, {}, rng);
      const auto ceiling =
          std::min(milliseconds{1000} * (1 << (failures - 1)), options.backoff_max);
      REQUIRE(d <= ceiling);
      REQUIRE(d >= ceiling / 2);
    }
    REQUIRE(UpstreamSource::next_delay(options, PollOutcome::kRateLimited, 1, milliseconds{30000},
                                       rng) == milliseconds{30000});
    REQUIRE(UpstreamSource::next_delay(options, PollOutcome::kAuthError, 1, {}, rng) ==
            milliseconds{60000});
  }
  // Two instances do not poll in step.
  std::mt19937_64 other{8};
  CHECK(UpstreamSource::next_delay(options, PollOutcome::kUpdated, 0, {}, rng) !=
        UpstreamSource::next_delay(options, PollOutcome::kUpdated, 0, {}, other));
}

TEST_CASE("source kinds and poll outcomes have one name each", "[cache][vocabulary]") {
  std::set<std::string_view> names;
  for (cache::SourceKind kind : cache::kSourceKinds) {
    names.insert(to_string(kind));
  }
  CHECK(names == std::set<std::string_view>{"file", "upstream", "persisted"});
  names.clear();
  for (PollOutcome outcome : cache::kPollOutcomes) {
    names.insert(to_string(outcome));
  }
  CHECK(names.size() == cache::kPollOutcomes.size());
  CHECK(names.contains("not_modified"));
  CHECK(cache::succeeded(PollOutcome::kUnchanged));
  CHECK_FALSE(cache::succeeded(PollOutcome::kAuthError));
}

TEST_CASE("the persisted config reads back as saved, and a foreign file is refused",
          "[cache][persistence]") {
  testing::TempDir dir;
  const auto groups = testing::many_groups(3);
  const auto when = std::chrono::system_clock::time_point{milliseconds{1700000000123}};
  std::vector<config::ConfigError> rejected;
  const auto snapshot = cache::Snapshot::build(groups, 1, {"t"}, rejected);
  REQUIRE(sources::save_config(dir.path(), *snapshot, "upstream:http://x:80", when).has_value());
  auto loaded = sources::load_config(dir.path());
  REQUIRE(loaded.has_value());
  CHECK(loaded->page.groups == groups);
  CHECK(loaded->source == "upstream:http://x:80");
  CHECK(loaded->fetched_at == when);

  dir.write("mutexes.json", testing::many_groups_json(1));  // a list, but not a saved state
  auto foreign = sources::load_config(dir.path());
  REQUIRE_FALSE(foreign.has_value());
  CHECK_THAT(foreign.error().message, Catch::Contains("not a saved state"));
}

TEST_CASE("a config file's archived groups are not served, and are no rejected groups",
          "[cache][file]") {
  testing::TempDir dir;
  std::string json = testing::many_groups_json(3);
  const std::size_t at = json.find(R"({"id":2,)");
  REQUIRE(at != std::string::npos);
  json.insert(at + 1, R"("archived":true,)");
  const auto path = dir.write("groups.json", json);
  boost::asio::io_context context;
  std::optional<config::ListPage> loaded;
  sources::FileSource::Callbacks callbacks;
  callbacks.loaded = [&](config::ListPage page, auto) { loaded = std::move(page); };
  callbacks.unchanged = [] {};
  callbacks.failed = [](const std::string& error) { FAIL(error); };
  sources::FileSource source{context.get_executor(), path, milliseconds{1000}, {}, callbacks};
  REQUIRE(source.load());
  REQUIRE(loaded.has_value());
  CHECK(loaded->rejected.empty());
  REQUIRE(loaded->groups.size() == 2);
  CHECK(loaded->groups[0].key == "g1");
  CHECK(loaded->groups[1].key == "g3");
  CHECK(loaded->archived == std::vector<std::string>{"g2"});
}
