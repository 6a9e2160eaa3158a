#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "config/parser.hpp"

// What the fuzz targets share: quiet logs, the example configuration, scratch files, and the
// checks that end a run (abort) when the product answers something it must never answer.
namespace mutex_edge::fuzz {

/// The fuzzer's input as text.
[[nodiscard]] inline std::string_view text(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

/// Turns the product's logging off (a fuzz run would print millions of lines).
void quiet_logs();

/// examples/groups.json plus tests/fuzz/data/extra_groups.json, parsed: every way a group
/// buckets (a user field, a property, a single 100% slot, an unallocated share).
[[nodiscard]] config::ListPage serving_page();

/// A directory of this process's own, on tmpfs where there is one, removed at exit.
[[nodiscard]] const std::filesystem::path& scratch_dir();

/// Replaces the content of `path` (not atomically: a plain write, as an editor would).
void write_file(const std::filesystem::path& path, std::string_view data);

/// Aborts, printing `what` and `detail`, so that libFuzzer records the input as a crash.
[[noreturn]] void fail(std::string_view what, std::string_view detail = {});

/// Aborts unless `body` is one well-formed JSON document. Invalid UTF-8 in it is tolerated
/// when `input_may_be_bad_utf8` (an echo of the client's own bytes).
void check_json(std::string_view body, bool input_may_be_bad_utf8);

/// True when `s` is valid UTF-8.
[[nodiscard]] bool valid_utf8(std::string_view s) noexcept;

}  // namespace mutex_edge::fuzz
