#include "tools/command.hpp"

#include <ostream>

#include "config/parser.hpp"

namespace mutex_edge::tools {

std::optional<int> parse_command(common::Flags& flags, int argc, const char* const* argv,
                                 std::string_view name, std::string_view usage, std::ostream& out,
                                 std::ostream& err) {
  auto parsed = flags.parse(argc, argv);
  if (!parsed) {
    err << "mutex-edge " << name << ": " << parsed.error().message << '\n';
    return 2;
  }
  if (!*parsed) {
    out << flags.help(usage, "");
    return 0;
  }
  return std::nullopt;
}

void add_config_flags(common::Flags& flags, std::string& config_file,
                      std::vector<std::string>& mutex_values, const std::string& mutex_help) {
  flags.text("config-file", config_file, "FILE",
             "groups in the list endpoint's shape: {\"mutexes\": [...]}");
  flags.texts("mutex", mutex_values, "KEY[,KEY]", mutex_help);
  flags.check([&config_file]() -> std::optional<std::string> {
    if (config_file.empty()) {
      return "--config-file is required (see --help)";
    }
    return std::nullopt;
  });
}

common::Result<LoadedConfig> load_config_file(const std::string& path, std::uint64_t version) {
  auto page = config::load_list_file(path);
  if (!page) {
    return page.error();
  }
  LoadedConfig loaded;
  loaded.rejected = std::move(page->rejected);
  loaded.archived = std::move(page->archived);
  loaded.snapshot =
      cache::Snapshot::build(std::move(page->groups), version, {"file:" + path}, loaded.rejected);
  return loaded;
}

std::unique_ptr<const cache::Snapshot> load_for_command(const std::string& path,
                                                        std::string_view name, std::ostream& err) {
  auto loaded = load_config_file(path);
  if (!loaded) {
    err << "mutex-edge " << name << ": " << loaded.error().message << '\n';
    return nullptr;
  }
  for (const config::ConfigError& e : loaded->rejected) {
    err << "mutex-edge " << name << ": group left out: " << e.to_string() << '\n';
  }
  return std::move(loaded->snapshot);
}

}  // namespace mutex_edge::tools
