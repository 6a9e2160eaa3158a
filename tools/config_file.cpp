#include "tools/config_file.hpp"

#include "config/parser.hpp"

namespace mutex_edge::tools {

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

}  // namespace mutex_edge::tools
