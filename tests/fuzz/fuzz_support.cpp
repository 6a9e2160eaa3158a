#include "tests/fuzz/fuzz_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include <unistd.h>

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "tests/support/paths.hpp"

namespace mutex_edge::fuzz {
namespace {

std::filesystem::path make_scratch_dir() {
  std::error_code ec;
  std::filesystem::path base = "/dev/shm";
  if (!std::filesystem::is_directory(base, ec) || ::access(base.c_str(), W_OK) != 0) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::string templ = (base / "mutex-edge-fuzz-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) {
    fail("cannot create a scratch directory", templ);
  }
  return templ;
}

void remove_scratch_dir() {
  std::error_code ec;
  std::filesystem::remove_all(scratch_dir(), ec);
}

}  // namespace

void quiet_logs() {
  spdlog::set_level(spdlog::level::off);
}

config::ListPage serving_page() {
  config::ListPage page;
  for (const std::string& file : {testing::source_path("examples/groups.json"),
                                  testing::source_path("tests/fuzz/data/extra_groups.json")}) {
    auto loaded = config::load_list_file(file);
    if (!loaded || !loaded->rejected.empty()) {
      fail("the serving configuration does not load", file);
    }
    page.append(std::move(*loaded));
  }
  return page;
}

const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = make_scratch_dir();
  // Registered once `dir` is made, so that it runs before `dir` is destroyed.
  static const bool removed_at_exit = std::atexit(remove_scratch_dir) == 0;
  (void)removed_at_exit;
  return dir;
}

void write_file(const std::filesystem::path& path, std::string_view data) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) {
    fail("cannot write a scratch file", path.string());
  }
}

void fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "\n==FUZZ CHECK FAILED== %.*s\n%.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::fflush(stderr);
  std::abort();
}

void check_json(std::string_view body, bool input_may_be_bad_utf8) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::padded_string padded{body};
  const auto error = parser.parse(padded).get(root);
  if (error == simdjson::SUCCESS || (error == simdjson::UTF8_ERROR && input_may_be_bad_utf8)) {
    return;
  }
  fail(std::string{"the answer is not JSON: "} + simdjson::error_message(error), body);
}

bool valid_utf8(std::string_view s) noexcept {
  return simdjson::validate_utf8(s.data(), s.size());
}

}  // namespace mutex_edge::fuzz
