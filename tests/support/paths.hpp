#pragma once

#include <string>
#include <string_view>

namespace mutex_edge::testing {

// Where the tests find the checkout and this build tree's binaries. CMake writes them into a
// generated source of the build tree (tests/CMakeLists.txt), not onto compile lines, so that
// every test file compiles with the same flags (one precompiled header) in every checkout.
extern const char* const kSourceDir;
extern const char* const kEdgeBinary;
extern const char* const kMgmtBinary;

/// `relative` (e.g. "examples/groups.json") under the checkout.
[[nodiscard]] std::string source_path(std::string_view relative);

}  // namespace mutex_edge::testing
