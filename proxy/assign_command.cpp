#include "proxy/assign_command.hpp"

#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "cache/config_file.hpp"
#include "cache/snapshot.hpp"
#include "cache/user_json.hpp"
#include "proxy/assign_response.hpp"

namespace mutex_edge::proxy {
namespace {

namespace po = boost::program_options;

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
  cache::JsonWriter writer{line};
  writer.begin_object().key("error").begin_object();
  writer.key("code").value(code).key("message").value(message);
  writer.end_object().end_object();
  out << line << '\n';
}

/// Splits repeated and comma-separated --mutex values into keys.
std::vector<std::string> split_keys(const std::vector<std::string>& values) {
  std::vector<std::string> keys;
  for (const std::string& value : values) {
    std::size_t start = 0;
    while (start <= value.size()) {
      const std::size_t comma = std::min(value.find(',', start), value.size());
      if (comma > start) {
        keys.push_back(value.substr(start, comma - start));
      }
      start = comma + 1;
    }
  }
  return keys;
}

}  // namespace

int run_assign_command(int argc, const char* const* argv, std::istream& in, std::ostream& out,
                       std::ostream& err) {
  po::options_description options{
      "Usage: mutex-edge assign --config-file FILE [--mutex KEY]... [--explain] < users.jsonl\n"
      "Assigns each user (one JSON object per line on stdin) to the slots of the groups in FILE\n"
      "and prints one JSON answer per line, as GET /assign would.\n\nOptions"};
  std::string config_file;
  std::vector<std::string> mutex_values;
  options.add_options()
      ("help,h", "print this help")
      ("config-file", po::value(&config_file)->value_name("FILE"),
       "groups in the list endpoint's shape: {\"mutexes\": [...]}")
      ("mutex", po::value(&mutex_values)->value_name("KEY[,KEY]"),
       "only these groups (repeatable or comma-separated; default: all)")
      ("explain", po::bool_switch(), "add the hash, d and the slot bounds to each answer");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "mutex-edge assign: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (vm.count("help") != 0) {
    out << options << '\n';
    return 0;
  }
  if (config_file.empty()) {
    err << "mutex-edge assign: --config-file is required (see --help)\n";
    return 2;
  }
  const bool explain = vm["explain"].as<bool>();

  auto page = cache::load_config_file(config_file);
  if (!page) {
    err << "mutex-edge assign: " << page.error() << '\n';
    return 1;
  }
  std::vector<cache::ConfigError> rejected = std::move(page->rejected);
  auto snapshot = cache::Snapshot::build(std::move(page->groups), 1,
                                         {"file:" + config_file}, rejected);
  for (const cache::ConfigError& e : rejected) {
    err << "mutex-edge assign: group left out: " << e.to_string() << '\n';
  }

  std::vector<std::size_t> groups;
  std::vector<std::string> requested = split_keys(mutex_values);
  std::vector<std::string_view> unknown;
  if (requested.empty()) {
    for (std::size_t i = 0; i < snapshot->groups().size(); ++i) {
      groups.push_back(i);
    }
  }
  for (const std::string& key : requested) {
    if (auto i = snapshot->find_key(key)) {
      groups.push_back(*i);
    } else {
      unknown.push_back(key);
    }
  }

  cache::UserDecoder decoder;
  constexpr std::size_t kMaxLine = 1024 * 1024;
  std::string line, answer;
  bool too_long = false;
  bool any_rejected = false;
  while (read_line(*in.rdbuf(), line, kMaxLine, too_long)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    if (too_long) {
      write_error(out, "payload_too_large", "a user line may hold at most 1048576 bytes");
      any_rejected = true;
      continue;
    }
    auto user = decoder.decode(line);
    if (!user) {
      write_error(out, "invalid_user", user.error().message);
      any_rejected = true;
      continue;
    }
    answer.clear();
    cache::JsonWriter writer{answer};
    writer.begin_object();
    write_assignments(writer, *snapshot, *user, groups, unknown, explain);
    writer.end_object();
    out << answer << '\n';
  }
  out.flush();
  return any_rejected ? 3 : 0;
}

}  // namespace mutex_edge::proxy
