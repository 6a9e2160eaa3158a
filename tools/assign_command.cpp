#include "tools/assign_command.hpp"

#include <iostream>
#include <string>
#include <vector>

#include "tools/command.hpp"
#include "wire/assign_response.hpp"
#include "wire/request_decoder.hpp"

#include "cache/snapshot.hpp"
#include "common/flags.hpp"
#include "common/json_writer.hpp"
#include "common/line_reader.hpp"
#include "common/text.hpp"
#include "config/parser.hpp"

namespace mutex_edge::tools {
namespace {

constexpr std::size_t kMaxLine = wire::RequestLimits{}.max_document_bytes;

void write_error(std::ostream& out, std::string_view code, std::string_view message) {
  std::string line;
  common::JsonWriter writer{line};
  writer.begin_object().error_member(code, message).end_object();
  out << line << '\n';
}

}  // namespace

constexpr std::string_view kUsage =
    "Usage: mutex-edge assign --config-file FILE [--mutex KEY]... [--explain] < users.jsonl\n"
    "Assigns each user (one JSON object per line on stdin) to the slots of the groups in FILE\n"
    "and prints one JSON answer per line, as GET /assign would.\n";

int run_assign_command(int argc, const char* const* argv, std::istream& in, std::ostream& out,
                       std::ostream& err) {
  std::string config_file;
  std::vector<std::string> mutex_values;
  bool explain = false;
  common::Flags flags{"", "Options"};
  add_config_flags(flags, config_file, mutex_values,
                   "only these groups (repeatable or comma-separated; default: all)");
  flags.boolean("explain", explain, "add the hash, d and the slot bounds to each answer");
  if (const auto done = parse_command(flags, argc, argv, "assign", kUsage, out, err)) {
    return *done;
  }

  const std::unique_ptr<const cache::Snapshot> snapshot =
      load_for_command(config_file, "assign", err);
  if (!snapshot) {
    return 1;
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
  common::LineReader reader{*in.rdbuf(), kMaxLine};
  std::string_view line;
  std::string answer;
  bool too_long = false;
  bool any_rejected = false;
  while (reader.next(line, too_long)) {
    if (too_long) {
      write_error(out, "payload_too_large",
                  "a user line may hold at most " + std::to_string(kMaxLine) + " bytes");
      any_rejected = true;
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
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
