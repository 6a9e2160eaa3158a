#include "sources/persistence.hpp"

#include <simdjson.h>

#include "common/file.hpp"
#include "common/json_writer.hpp"
#include "config/serialize.hpp"

namespace mutex_edge::sources {

std::filesystem::path persisted_path(const std::filesystem::path& state_dir) {
  return state_dir / "mutexes.json";
}

common::Result<void> save_config(const std::filesystem::path& state_dir,
                                 const cache::Snapshot& snapshot, const std::string& source,
                                 std::chrono::system_clock::time_point fetched_at) {
  // {"source":..., "fetchedAtMs":..., "mutexes":[...], "nextCursor":null}
  std::string body;
  common::JsonWriter list{body};
  config::write_list_page(
      list, snapshot.size(),
      [&](common::JsonWriter& w, std::size_t i) {
        config::write_group(w, snapshot.group(i).to_config());
      },
      std::nullopt);
  std::string data;
  common::JsonWriter writer{data};
  writer.begin_object().key("source").value(source);
  writer.key("fetchedAtMs")
      .value(std::chrono::duration_cast<std::chrono::milliseconds>(fetched_at.time_since_epoch())
                 .count());
  writer.key("originAtMs")
      .value(std::chrono::duration_cast<std::chrono::milliseconds>(
                 snapshot.origin().origin_at.time_since_epoch())
                 .count());
  writer.key("chainDepth").value(std::uint64_t{snapshot.origin().depth});
  data += ',';
  data.append(body, 1);  // splice the list's members in
  return common::write_file_atomically(persisted_path(state_dir), data);
}

common::Result<PersistedConfig> load_config(const std::filesystem::path& state_dir,
                                            const config::ParseOptions& options) {
  const std::filesystem::path path = persisted_path(state_dir);
  auto data = common::read_file(path, options.limits.max_document_bytes, config::kParsePadding);
  if (!data) {
    return data.error();
  }
  auto page = config::parse_padded_list_page(*data, options);
  if (!page) {
    return common::Error{path.string() + ": " + page.error().to_string()};
  }
  PersistedConfig persisted;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view source;
  std::int64_t fetched_ms = 0;
  if (parser.parse(*data).get(root) != simdjson::SUCCESS ||
      root["source"].get_string().get(source) != simdjson::SUCCESS ||
      root["fetchedAtMs"].get_int64().get(fetched_ms) != simdjson::SUCCESS) {
    return common::Error{path.string() + ": no source or fetchedAtMs: not a saved state"};
  }
  // A time the clock cannot hold (past the year 2262) is no time this process saved.
  constexpr std::int64_t kMaxMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::duration::max())
                                      .count();
  if (fetched_ms > kMaxMs || fetched_ms < -kMaxMs) {
    return common::Error{path.string() + ": fetchedAtMs " + std::to_string(fetched_ms) +
                         " is out of range: not a saved state"};
  }
  std::int64_t origin_ms = fetched_ms;
  std::uint64_t depth = 1;
  if (root["originAtMs"].get_int64().get(origin_ms) != simdjson::SUCCESS || origin_ms > kMaxMs ||
      origin_ms < -kMaxMs) {
    origin_ms = fetched_ms;  // saved before origin times were kept (or not one we wrote)
  }
  if (root["chainDepth"].get_uint64().get(depth) != simdjson::SUCCESS || depth > 1000) {
    depth = 1;
  }
  persisted.origin_at = std::chrono::system_clock::time_point{std::chrono::milliseconds{origin_ms}};
  persisted.depth = static_cast<std::uint32_t>(depth);
  persisted.page = std::move(*page);
  persisted.source = std::string{source};
  persisted.fetched_at =
      std::chrono::system_clock::time_point{std::chrono::milliseconds{fetched_ms}};
  return persisted;
}

}  // namespace mutex_edge::sources
