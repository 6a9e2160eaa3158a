#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/json_writer.hpp"
#include "config/model.hpp"

namespace mutex_edge::config {

/// Writes a group in the Management API's own shape (design.md section 1).
void write_group(common::JsonWriter& writer, const GroupConfig& group);
/// The same, as a string.
[[nodiscard]] std::string group_json(const GroupConfig& group);

/// Writes `{"mutexes":[...],"nextCursor":...}`, the list endpoint's shape (also our config-file
/// format): `write_one(writer, i)` writes the i-th of `count` groups; `next_cursor` absent
/// writes null.
template <typename WriteOne>
void write_list_page(common::JsonWriter& writer, std::size_t count, WriteOne&& write_one,
                     std::optional<std::string_view> next_cursor) {
  writer.begin_object().key("mutexes").begin_array();
  for (std::size_t i = 0; i < count; ++i) {
    write_one(writer, i);
  }
  writer.end_array().key("nextCursor");
  if (next_cursor) {
    writer.value(*next_cursor);
  } else {
    writer.null();
  }
  writer.end_object();
}

/// A whole listing of `groups` in one page.
[[nodiscard]] std::string serialize_list(std::span<const GroupConfig> groups);

}  // namespace mutex_edge::config
