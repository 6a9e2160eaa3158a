#include "common/flags.hpp"

#include <cstdlib>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace mutex_edge::common;
using std::chrono::milliseconds;

namespace {

/// Parses `args` (after a program name) with `flags`.
Result<bool> parse(Flags& flags, std::vector<std::string> args) {
  args.insert(args.begin(), "prog");
  std::vector<const char*> argv;
  for (const std::string& a : args) {
    argv.push_back(a.c_str());
  }
  return flags.parse(static_cast<int>(argv.size()), argv.data());
}

/// Sets an environment variable for one scope.
struct ScopedEnv {
  ScopedEnv(const char* name, const char* value) : name_{name} { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  const char* name_;
};

}  // namespace

TEST_CASE("durations take a unit and print back in their shortest exact form", "[common][flags]") {
  CHECK(parse_duration("500ms") == milliseconds{500});
  CHECK(parse_duration("10s") == milliseconds{10000});
  CHECK(parse_duration("2m") == milliseconds{120000});
  CHECK(parse_duration("1h") == milliseconds{3600000});
  CHECK(parse_duration("0") == milliseconds{0});
  for (const char* bad : {"", "10", "1.5s", "-1s", "5x", "s", "99999999999999h"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad).has_value());
  }
  for (auto ms : {0, 1, 999, 1000, 1500, 60000, 90000, 3600000, 7200000}) {
    CHECK(parse_duration(format_duration(milliseconds{ms})) == milliseconds{ms});
  }
  CHECK(format_duration(milliseconds{60000}) == "1m");
  CHECK(format_duration(milliseconds{1500}) == "1500ms");
}

TEST_CASE("listen addresses are host:port, [v6]:port or :port", "[common][flags]") {
  std::string host;
  std::uint16_t port = 0;
  CHECK(parse_listen("127.0.0.1:8080", host, port));
  CHECK((host == "127.0.0.1" && port == 8080));
  CHECK(parse_listen("[::1]:0", host, port));
  CHECK((host == "::1" && port == 0));
  CHECK(parse_listen(":9", host, port));
  CHECK(host == "0.0.0.0");
  CHECK_FALSE(parse_listen("localhost", host, port));
  CHECK_FALSE(parse_listen("h:65536", host, port));
  CHECK_FALSE(parse_listen("h:", host, port));
}

TEST_CASE("typed flags convert, and a bad value names the flag and the value", "[common][flags]") {
  Duration timeout = std::chrono::seconds{1};
  std::size_t count = 3;
  bool on = false;
  std::string name = "x";
  std::vector<std::string> items;
  Flags flags{"TEST_FLAGS_", "Options"};
  flags.duration("timeout", timeout, "how long", milliseconds{10});
  flags.number("count", count, "N", 1, 10, "how many");
  flags.boolean("on", on, "switch");
  flags.text("name", name, "NAME", "a name");
  flags.texts("item", items, "ITEM", "repeatable");

  SECTION("good values") {
    auto parsed =
        parse(flags, {"--timeout", "250ms", "--count", "7", "--on", "--item", "a", "--item", "b"});
    REQUIRE(parsed.has_value());
    CHECK(*parsed);
    CHECK(timeout == milliseconds{250});
    CHECK(count == 7);
    CHECK(on);
    CHECK(name == "x");  // not given: the default stays
    CHECK(items == std::vector<std::string>{"a", "b"});
    CHECK(flags.given("timeout"));
    CHECK_FALSE(flags.given("name"));
  }
  SECTION("bad values") {
    auto bad_duration = parse(flags, {"--timeout", "10"});
    REQUIRE_FALSE(bad_duration.has_value());
    CHECK(bad_duration.error().message ==
          "--timeout: expected a duration such as 500ms, 10s or 1m, got '10'");
    auto too_short = parse(flags, {"--timeout", "5ms"});
    REQUIRE_FALSE(too_short.has_value());
    CHECK_THAT(too_short.error().message, Catch::Contains("at least 10ms"));
    auto out_of_range = parse(flags, {"--count", "11"});
    REQUIRE_FALSE(out_of_range.has_value());
    CHECK(out_of_range.error().message == "--count: expected an integer from 1 to 10, got '11'");
    auto not_bool = parse(flags, {"--on", "maybe"});
    REQUIRE_FALSE(not_bool.has_value());
    CHECK_THAT(not_bool.error().message, Catch::Contains("expected true or false"));
    auto unknown = parse(flags, {"--frobnicate"});
    REQUIRE_FALSE(unknown.has_value());
    CHECK_THAT(unknown.error().message, Catch::Contains("unrecognised option '--frobnicate'") &&
                                            Catch::EndsWith("(see --help)"));
  }
}

TEST_CASE("every flag is also an environment variable, and a flag wins over it",
          "[common][flags]") {
  Duration timeout = std::chrono::seconds{1};
  std::size_t count = 3;
  Flags flags{"TEST_FLAGS_", "Options"};
  flags.duration("read-timeout", timeout, "how long");
  flags.number("count", count, "N", 1, 10, "how many");
  ScopedEnv a{"TEST_FLAGS_READ_TIMEOUT", "2s"};
  ScopedEnv b{"TEST_FLAGS_COUNT", "4"};
  ScopedEnv ignored{"TEST_FLAGS_NOT_A_FLAG", "whatever"};
  REQUIRE(parse(flags, {"--count", "5"}).has_value());
  CHECK(timeout == milliseconds{2000});
  CHECK(count == 5);
  CHECK(env_name("TEST_FLAGS_", "read-timeout") == "TEST_FLAGS_READ_TIMEOUT");
}

TEST_CASE("variables of the prefix that name no flag and are not known are named, not valued",
          "[common][flags]") {
  Duration timeout = std::chrono::seconds{1};
  Flags flags{"TEST_FLAGS_", "Options"};
  flags.duration("poll-interval", timeout, "how often");
  const char* const environment[] = {"PATH=/usr/bin",
                                     "TEST_FLAGS_POLL_INTERVAL=5s",
                                     "TEST_FLAGS_POLL_INTERVL=5s",   // a typo
                                     "TEST_FLAGS_poll_interval=5s",  // read as the flag
                                     "TEST_FLAGS_API_KEY=s3cret",    // read only from the env
                                     "TEST_FLAGS_API_KEYS=s3cret",
                                     "TEST_FLAGS_HELP=1",
                                     "TEST_FLAGS_=",
                                     "TEST_FLAGS_EMPTY=",
                                     "TEST_FLAGS_NO_VALUE",
                                     "OTHER_TEST_FLAGS_X=1",
                                     "test_flags_lower=1",
                                     nullptr};
  constexpr std::string_view kKnown[] = {"TEST_FLAGS_API_KEY"};
  const std::vector<std::string> unknown = flags.unknown_variables(kKnown, environment);
  CHECK(unknown == std::vector<std::string>{"TEST_FLAGS_POLL_INTERVL", "TEST_FLAGS_API_KEYS",
                                            "TEST_FLAGS_", "TEST_FLAGS_EMPTY",
                                            "TEST_FLAGS_NO_VALUE"});
  CHECK(flags.unknown_variables({}, nullptr).empty());

  // read() names them beside the settings (this process's environment), not for --help.
  ScopedEnv typo{"TEST_FLAGS_POLL_INTERVL", "5s"};
  ScopedEnv known{"TEST_FLAGS_API_KEY", "s3cret"};
  const char* argv[] = {"prog"};
  auto read = flags.read(1, argv, 0, "Usage: prog\n", "", kKnown);
  REQUIRE(read.has_value());
  CHECK(read->unknown_variables == std::vector<std::string>{"TEST_FLAGS_POLL_INTERVL"});
  const char* help[] = {"prog", "--help"};
  read = flags.read(2, help, 0, "Usage: prog\n", "", kKnown);
  REQUIRE(read.has_value());
  CHECK(read->unknown_variables.empty());
}

TEST_CASE("a repeatable flag given on the command line replaces its variable", "[common][flags]") {
  std::vector<std::string> items;
  Flags flags{"TEST_FLAGS_", "Options"};
  flags.texts("item", items, "ITEM", "repeatable");
  ScopedEnv env{"TEST_FLAGS_ITEM", "from-env"};
  SECTION("the flags alone") {
    REQUIRE(parse(flags, {"--item", "a", "--item", "b"}).has_value());
    CHECK(items == std::vector<std::string>{"a", "b"});
  }
  SECTION("the variable when no flag is given") {
    REQUIRE(parse(flags, {}).has_value());
    CHECK(items == std::vector<std::string>{"from-env"});
  }
}

TEST_CASE("--help lists every flag with its default and its variable", "[common][flags]") {
  ServerFlags server;
  std::string level = "info";
  Flags flags{"TEST_FLAGS_", "Options"};
  add_server_flags(flags, server);
  flags.log_level(level);
  auto parsed = parse(flags, {"--help"});
  REQUIRE(parsed.has_value());
  CHECK_FALSE(*parsed);
  const std::string help = flags.help("Usage: prog\n", "  TEST_FLAGS_SECRET  a secret\n");
  CHECK_THAT(help, Catch::StartsWith("Usage: prog"));
  CHECK_THAT(help, Catch::Contains("--idle-timeout") && Catch::Contains("(default 1m)"));
  CHECK_THAT(help, Catch::Contains("TEST_FLAGS_MAX_HEADER_BYTES"));
  CHECK_THAT(help, Catch::Contains("TEST_FLAGS_SECRET  a secret"));
  CHECK_THAT(help, Catch::Contains("TEST_FLAGS_LOG_LEVEL"));
}

TEST_CASE("server flags check their limits and pick one thread per core for 0", "[common][flags]") {
  ServerFlags server;
  server.threads = 0;
  std::string level = "info";
  Flags flags{"TEST_FLAGS_", "Options"};
  add_server_flags(flags, server);
  flags.log_level(level);
  REQUIRE(parse(flags, {"--listen", "127.0.0.1:0", "--max-connections", "7"}).has_value());
  CHECK(server.threads >= 1);
  CHECK(server.listen_port == 0);
  CHECK(server.max_connections == 7);

  ServerFlags other;
  Flags strict{"TEST_FLAGS_", "Options"};
  add_server_flags(strict, other);
  strict.log_level(level);
  CHECK_FALSE(parse(strict, {"--max-header-bytes", "10"}).has_value());
  CHECK_FALSE(parse(strict, {"--idle-timeout", "0"}).has_value());
  CHECK_FALSE(parse(strict, {"--listen", "nowhere"}).has_value());
  auto bad_level = parse(strict, {"--log-level", "loud"});
  REQUIRE_FALSE(bad_level.has_value());
  CHECK(bad_level.error().message ==
        "--log-level: expected one of trace, debug, info, warn, error, off, got 'loud'");
}

TEST_CASE("a command without a prefix reads no variable, and takes its positional arguments",
          "[common][flags]") {
  std::vector<std::string> files;
  bool json = false;
  Flags flags{"", "Options"};
  flags.positional("files", files, "FILE", "the inputs");
  flags.boolean("json", json, "as JSON");
  ScopedEnv env{"JSON", "true"};  // what an empty prefix would turn --json into
  REQUIRE(parse(flags, {"a.json", "--json=false", "b.json"}).has_value());
  CHECK(files == std::vector<std::string>{"a.json", "b.json"});
  CHECK_FALSE(json);
  CHECK(flags.unknown_variables({}).empty());
  const std::string help = flags.help("Usage: prog FILE...", "");
  CHECK_THAT(help, !Catch::Contains("Environment variables"));
  CHECK_THAT(help, !Catch::Contains("--files"));
  CHECK_THAT(help, Catch::Contains("--json"));
}
