#include "tests/support/paths.hpp"

namespace mutex_edge::testing {

std::string source_path(std::string_view relative) {
  std::string path{kSourceDir};
  path += '/';
  path += relative;
  return path;
}

}  // namespace mutex_edge::testing
