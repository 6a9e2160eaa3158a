#include "tools/diff_command.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "integrity/change.hpp"
#include "integrity/change_report.hpp"
#include "tools/command.hpp"

#include "cache/snapshot.hpp"
#include "common/file.hpp"
#include "common/flags.hpp"
#include "common/json_writer.hpp"
#include "common/text.hpp"
#include "config/parser.hpp"

namespace mutex_edge::tools {
namespace {

constexpr std::string_view kUsage =
    "Usage: mutex-edge diff OLD.json NEW.json [--json]\n\n"
    "Compares two configurations (the list endpoint's JSON, {\"mutexes\": [...]}) group by group,\n"
    "matched by key: the exact share of the bucketing space whose slot changes (slots matched\n"
    "by index; the expected share when the salt or the bucketing key changes, as every user is\n"
    "then re-randomised), individuals and cohorts added, removed and moved to another slot, and\n"
    "groups added, removed or archived (\"archived\": true). Exit status: 0 when no user's slot\n"
    "changes, 1 when some do, 2 on bad input.\n";

/// A side of the comparison: every group of the file valid, or the first problem.
common::Result<LoadedConfig> load(const std::string& path, std::uint64_t version) {
  auto loaded = load_config_file(path, version);
  if (loaded && !loaded->rejected.empty()) {
    std::string message = path + ": invalid group: " + loaded->rejected.front().to_string();
    if (loaded->rejected.size() > 1) {
      message += " (and " + std::to_string(loaded->rejected.size() - 1) + " more problems)";
    }
    return common::Error{std::move(message)};
  }
  return loaded;
}

std::string inclusions(const integrity::InclusionChange& c) {
  if (!c.any()) {
    return "-";
  }
  char text[80];
  std::snprintf(text, sizeof text, "+%zu -%zu ~%zu", c.added, c.removed, c.moved);
  return text;
}

void write_table(std::ostream& out, const std::string& old_path, const std::string& new_path,
                 const integrity::ConfigChange& change) {
  out << "mutex-edge diff: " << old_path << " (" << change.groups_before << " groups) -> "
      << new_path << " (" << change.groups_after << " groups): " << change.changed << " changed, "
      << change.added << " added, " << change.removed << " removed, " << change.archived
      << " archived, " << change.unchanged << " unchanged\n";
  if (change.groups.empty()) {
    out << "no group changed: no user moves\n";
    return;
  }
  std::size_t width = 5;
  for (const integrity::GroupChange& g : change.groups) {
    width = std::max(width, std::min<std::size_t>(g.key.size(), 40));
  }
  const int w = static_cast<int>(width);
  char row[512];
  std::snprintf(row, sizeof row, "%-*s  %-12s  %9s  %9s  %9s  %9s  %-14s  %-14s  %s\n", w, "group",
                "change", "moved", "between", "entered", "left", "individuals", "cohorts",
                "fields");
  out << '\n' << row;
  for (const integrity::GroupChange& g : change.groups) {
    const std::string key = g.key.size() <= width ? g.key : g.key.substr(0, width - 3) + "...";
    if (g.kind != integrity::ChangeKind::kChanged) {
      std::snprintf(row, sizeof row, "%-*s  %s\n", w, key.c_str(),
                    std::string{integrity::to_string(g.kind)}.c_str());
      out << row;
      continue;
    }
    std::string fields;
    for (std::string_view f : g.fields) {
      fields.append(fields.empty() ? "" : ",").append(f);
    }
    std::snprintf(row, sizeof row, "%-*s  %-12s  %9s  %9s  %9s  %9s  %-14s  %-14s  %s\n", w,
                  key.c_str(), g.rerandomized ? "rerandomized" : "changed",
                  integrity::percent(g.moved).c_str(), integrity::percent(g.between).c_str(),
                  integrity::percent(g.entered).c_str(), integrity::percent(g.left).c_str(),
                  inclusions(g.individuals).c_str(), inclusions(g.cohorts).c_str(), fields.c_str());
    out << row;
  }
  out << "\nmoved: the share of users with a bucketing value whose slot changes (between slots, "
         "from the\nunallocated share into a slot, from a slot into it); exact by interval "
         "arithmetic, expected\nfor rerandomized groups. individuals, cohorts: +added -removed "
         "~moved to another slot.\n";
  for (const integrity::GroupChange& g : change.groups) {
    if (g.unbucketed_moved) {
      out << "note: in \"" << g.key << "\" users without a bucketing value change slot too "
          << "(a single 100% slot takes them)\n";
    }
  }
  out << (change.moves_users() ? "users move\n" : "no user moves\n");
}

void write_json(std::ostream& out, const std::string& old_path, const std::string& new_path,
                const integrity::ConfigChange& change) {
  std::string text;
  common::JsonWriter w{text};
  w.begin_object();
  w.key("from").value(old_path);
  w.key("to").value(new_path);
  w.key("movesUsers").value(change.moves_users());
  w.key("groupsBefore").value(change.groups_before);
  w.key("groupsAfter").value(change.groups_after);
  w.key("unchanged").value(change.unchanged);
  w.key("changed").value(change.changed);
  w.key("added").value(change.added);
  w.key("removed").value(change.removed);
  w.key("archived").value(change.archived);
  w.key("groups").begin_array();
  for (const integrity::GroupChange& g : change.groups) {
    integrity::write_group_change(w, g);
  }
  w.end_array();
  w.end_object();
  out << text << '\n';
}

}  // namespace

int run_diff_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  std::vector<std::string> paths;
  bool json = false;
  common::Flags flags{"", "Options"};
  flags.positional("files", paths, "OLD.json NEW.json", "the two configurations, old then new");
  flags.boolean("json", json, "print the comparison as one JSON object");
  flags.check([&]() -> std::optional<std::string> {
    if (paths.size() != 2) {
      return "expected two files, OLD.json and NEW.json (see --help)";
    }
    return std::nullopt;
  });
  if (const auto done = parse_command(flags, argc, argv, "diff", kUsage, out, err)) {
    return *done;
  }
  auto before = load(paths[0], 1);
  if (!before) {
    err << "mutex-edge diff: " << before.error().message << '\n';
    return 2;
  }
  auto after = load(paths[1], 2);
  if (!after) {
    err << "mutex-edge diff: " << after.error().message << '\n';
    return 2;
  }
  const std::unordered_set<std::string> archived{after->archived.begin(), after->archived.end()};
  const integrity::ConfigChange change =
      integrity::compare_snapshots(*before->snapshot, *after->snapshot, &archived);
  if (json) {
    write_json(out, paths[0], paths[1], change);
  } else {
    write_table(out, paths[0], paths[1], change);
  }
  out.flush();
  return change.moves_users() ? 1 : 0;
}

}  // namespace mutex_edge::tools
