#include "tools/assign_command.hpp"

#include <iostream>
#include <string>
#include <vector>

#include "wire/assign_response.hpp"
#include "wire/request_decoder.hpp"

#include "cache/snapshot.hpp"
#include "common/flags.hpp"
#include "common/json_writer.hpp"
#include "common/text.hpp"
#include "config/parser.hpp"

namespace mutex_edge::tools {
namespace {

constexpr std::size_t kMaxLine = wire::RequestLimits{}.max_document_bytes;

/// Reads one line into `line`, keeping at most `max` bytes; sets `too_long` when it had more.
bool read_line(std::streambuf& in, std::string& line, std::size_t max, bool& too_long) {
  line.clear();
  too_long = false;
  int c = in.sbumpc();
  if (c == std::char_traits<char>::eof()) {
    return false;
  }
  for (; c != std::char_traits<char>::eof() && c != '\n'; c = in.sbumpc()) {
    if (line.size() < max) {
      line.push_back(static_cast<char>(c));
    } else {
      too_long = true;
    }
  }
  return true;
}

void write_error(std::ostream& out, std::string_view code, std::string_view message) {
  std::string line;
  common::JsonWriter writer{line};
  writer.begin_object().key("error").begin_object();
  writer.key("code").value(code).key("message").value(message);
  writer.end_object().end_object();
  out << line << '\n';
}

}  // namespace

int run_assign_command(int argc, const char* const* argv, std::istream& in, std::ostream& out,
                       std::ostream& err) {
  std::string config_file;
  std::vector<std::string> mutex_values;
  bool explain = false;
  common::Flags flags{"MUTEX_EDGE_", "Options"};
  flags.text("config-file", config_file, "FILE",
             "groups in the list endpoint's shape: {\"mutexes\": [...]}");
  flags.texts("mutex", mutex_values, "KEY[,KEY]",
              "only these groups (repeatable or comma-separated; default: all)");
  flags.boolean("explain", explain, "add the hash, d and the slot bounds to each answer");
  flags.check([&]() -> std::optional<std::string> {
    if (config_file.empty()) {
      return "--config-file is required (see --help)";
    }
    return std::nullopt;
  });
  auto parsed = flags.parse(argc, argv);
  if (!parsed) {
    err << "mutex-edge assign: " << parsed.error().message << '\n';
    return 2;
  }
  if (!*parsed) {
    out << flags.help(
        "Usage: mutex-edge assign --config-file FILE [--mutex KEY]... [--explain] < users.jsonl\n"
        "Assigns each user (one JSON object per line on stdin) to the slots of the groups in FILE\n"
        "and prints one JSON answer per line, as GET /assign would.\n",
        "");
    return 0;
  }

  auto page = config::load_list_file(config_file);
  if (!page) {
    err << "mutex-edge assign: " << page.error().message << '\n';
    return 1;
  }
  std::vector<config::ConfigError> rejected = std::move(page->rejected);
  auto snapshot =
      cache::Snapshot::build(std::move(page->groups), 1, {"file:" + config_file}, rejected);
  for (const config::ConfigError& e : rejected) {
    err << "mutex-edge assign: group left out: " << e.to_string() << '\n';
  }

  std::vector<std::string_view> requested;
  for (const std::string& value : mutex_values) {
    common::for_each_item(value, ',', [&](std::string_view key) { requested.push_back(key); });
  }
  std::vector<std::size_t> groups;
  std::vector<std::string_view> unknown;
  snapshot->select(requested.empty() ? std::nullopt
                                     : std::optional<std::span<const std::string_view>>{requested},
                   groups, unknown);

  wire::RequestDecoder decoder;
  std::string line, answer;
  bool too_long = false;
  bool any_rejected = false;
  while (read_line(*in.rdbuf(), line, kMaxLine, too_long)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    if (too_long) {
      write_error(out, "payload_too_large",
                  "a user line may hold at most " + std::to_string(kMaxLine) + " bytes");
      any_rejected = true;
      continue;
    }
    auto request = decoder.parse_user(line);
    auto user = request ? decoder.user(0)
                        : boost::system::result<eval::User, wire::ApiError>{request.error()};
    if (!user) {
      write_error(out, to_string(user.error().code), user.error().message);
      any_rejected = true;
      continue;
    }
    answer.clear();
    common::JsonWriter writer{answer};
    writer.begin_object();
    wire::write_assignments(writer, *snapshot, *user, groups, unknown, explain);
    writer.end_object();
    out << answer << '\n';
  }
  out.flush();
  return any_rejected ? 3 : 0;
}

}  // namespace mutex_edge::tools
