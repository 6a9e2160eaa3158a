#include "mgmt/seed.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include <simdjson.h>

#include "cache/config_file.hpp"
#include "cache/config_parser.hpp"
#include "cache/json_writer.hpp"
#include "mgmt/keys.hpp"
#include "mgmt/request_json.hpp"

namespace mutex_edge::mgmt {
namespace {

namespace dom = simdjson::dom;

bool has_value(dom::object object, std::string_view name) {
  dom::element value;
  return object[name].get(value) == simdjson::SUCCESS && !value.is_null();
}

}  // namespace

boost::system::result<std::vector<cache::GroupConfig>, std::string> load_seed(
    const std::string& path, std::size_t max_bytes) {
  auto text = cache::read_file(path, max_bytes);
  if (!text) {
    return "seed: " + text.error().message;
  }
  auto fail = [&](const std::string& why) { return "seed " + path + ": " + why; };

  // First pass: what is missing where, and which ids and keys are taken.
  dom::parser parser;
  dom::element root;
  if (auto code = parser.parse(*text).get(root)) {
    return fail(std::string{"not valid JSON: "} + simdjson::error_message(code));
  }
  dom::array groups;
  if (root["mutexes"].get_array().get(groups)) {
    return fail("expected an object {\"mutexes\": [group, ...]}");
  }
  std::int64_t max_id = 0;
  std::set<std::string> keys;
  for (dom::element element : groups) {
    dom::object object;
    if (element.get_object().get(object)) {
      continue;  // reported by the parser below
    }
    dom::element value;
    std::int64_t number = 0;
    std::string_view view;
    if (object["id"].get(value) == simdjson::SUCCESS) {
      std::optional<std::int64_t> id;
      if (value.get_int64().get(number) == simdjson::SUCCESS) {
        id = number;
      } else if (value.get_string().get(view) == simdjson::SUCCESS) {
        id = parse_id(view);
      }
      if (id) {
        max_id = std::max(max_id, *id);
      }
    }
    if (object["key"].get_string().get(view) == simdjson::SUCCESS) {
      keys.emplace(view);
    }
  }

  // Second pass: each group rebuilt with the missing fields filled in (a null counts as
  // missing), then the whole document parsed and validated by the cache's parser.
  std::string rewritten;
  cache::JsonWriter writer{rewritten};
  writer.begin_object().key("mutexes").begin_array();
  for (dom::element element : groups) {
    dom::object object;
    if (element.get_object().get(object)) {
      writer.raw(simdjson::minify(element));
      continue;
    }
    writer.begin_object();
    if (!has_value(object, "id")) {
      writer.key("id").value(++max_id);
    }
    if (!has_value(object, "key")) {
      std::string_view name;
      const std::string base =
          slugify(object["name"].get_string().get(name) == simdjson::SUCCESS ? name : "");
      std::string key = base;
      for (int n = 2; keys.contains(key); ++n) {
        key = base + "-" + std::to_string(n);
      }
      keys.insert(key);
      writer.key("key").value(key);
    }
    if (!has_value(object, "bucketingKey")) {
      writer.key("bucketingKey").value("amplitude_id");
    }
    if (!has_value(object, "bucketingSalt")) {
      writer.key("bucketingSalt").value(random_alphanumeric(8));
    }
    if (!has_value(object, "evaluationMode")) {
      writer.key("evaluationMode").value("remote");
    }
    for (dom::key_value_pair field : object) {
      const std::string_view name = field.key;
      const bool filled = name == "id" || name == "key" || name == "bucketingKey" ||
                          name == "bucketingSalt" || name == "evaluationMode";
      if (filled && field.value.is_null()) {
        continue;
      }
      writer.key(name).raw(simdjson::minify(field.value));
    }
    writer.end_object();
  }
  writer.end_array().end_object();

  // A seed is served state in the list shape, like a config file: a group may leave a share
  // unallocated (design.md section 2). Only create demands exactly 100.
  cache::ParseOptions options;
  options.require_full_allocation = false;
  options.limits.max_document_bytes = std::max(max_bytes, rewritten.size());
  auto page = cache::parse_list_page(rewritten, options);
  if (!page) {
    return fail(page.error().to_string());
  }
  if (!page->rejected.empty()) {
    std::string why = page->rejected.front().to_string();
    if (page->rejected.size() > 1) {
      why += " (and " + std::to_string(page->rejected.size() - 1) + " more problems)";
    }
    return fail(why);
  }
  std::set<std::int64_t> ids;
  keys.clear();
  for (const cache::GroupConfig& group : page->groups) {
    if (!ids.insert(group.id).second) {
      return fail("id " + std::to_string(group.id) + " is used by more than one group");
    }
    if (!keys.insert(group.key).second) {
      return fail("key \"" + group.key + "\" is used by more than one group");
    }
  }
  return std::move(page->groups);
}

}  // namespace mutex_edge::mgmt
