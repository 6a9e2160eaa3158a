#include "tools/audit_command.hpp"

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "integrity/audit.hpp"
#include "tools/command.hpp"

#include "cache/snapshot.hpp"
#include "common/flags.hpp"
#include "common/text.hpp"

namespace mutex_edge::tools {
constexpr std::string_view kUsage =
    "Usage: mutex-edge audit --config-file FILE [--mutex KEY]... [--json] < exposures.jsonl\n"
    "Checks observed exposures, one JSON object per line on stdin:\n"
    "  {\"user\": {...}, \"mutex\": \"KEY\", \"slot\": \"slot-N\" | null}\n"
    "or Amplitude's $exposure / [Experiment] Exposure events (event_properties.flag_key and\n"
    ".variant) and $assignment / [Experiment] Assignment events (event_properties\n"
    "\"KEY.variant\"), the user from the event's user_id, device_id, amplitude_id, other\n"
    "user context fields, user_properties and cohort_ids. Per group it reports mismatches\n"
    "with the engine, crossovers (a user seen in two slots) and a sample ratio mismatch\n"
    "test (chi-squared, SRM at p < 0.001). Exit status: 0 when every line agrees and no\n"
    "group shows an SRM, 1 otherwise, 2 on a bad flag or an unusable config file.\n";

int run_audit_command(int argc, const char* const* argv, std::istream& in, std::ostream& out,
                      std::ostream& err) {
  std::string config_file;
  std::vector<std::string> mutex_values;
  bool json = false;
  common::Flags flags{"", "Options"};
  add_config_flags(flags, config_file, mutex_values,
                   "audit only these groups (repeatable or comma-separated; default: all)");
  flags.boolean("json", json, "print the report as one JSON object");
  if (const auto done = parse_command(flags, argc, argv, "audit", kUsage, out, err)) {
    return *done;
  }

  const std::unique_ptr<const cache::Snapshot> snapshot =
      load_for_command(config_file, "audit", err);
  if (!snapshot) {
    return 2;
  }
  std::vector<bool> selected(snapshot->size(), mutex_values.empty());
  for (const std::string& value : mutex_values) {
    std::optional<std::string> missing;
    common::for_each_item(value, ',', [&](std::string_view key) {
      if (auto pos = snapshot->find_key(key)) {
        selected[*pos] = true;
      } else if (!missing) {
        missing = std::string{key};
      }
    });
    if (missing) {
      err << "mutex-edge audit: --mutex: no group \"" << common::excerpt(*missing) << "\" in "
          << config_file << '\n';
      return 2;
    }
  }

  integrity::Auditor auditor{*snapshot, std::move(selected)};
  auditor.run(in);
  const int status = auditor.report(out, json);
  out.flush();
  return status;
}

}  // namespace mutex_edge::tools
