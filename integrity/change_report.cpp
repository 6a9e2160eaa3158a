#include "integrity/change_report.hpp"

#include <cstdio>

namespace mutex_edge::integrity {
namespace {

void write_inclusions(common::JsonWriter& w, const integrity::InclusionChange& change) {
  w.begin_object();
  w.key("added").value(change.added);
  w.key("removed").value(change.removed);
  w.key("moved").value(change.moved);
  w.end_object();
}

}  // namespace

std::string percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f%%", share * 100);
  return text;
}

void write_group_change(common::JsonWriter& w, const integrity::GroupChange& change) {
  w.begin_object();
  w.key("mutex").value(change.key);
  w.key("change").value(to_string(change.kind));
  if (change.kind == integrity::ChangeKind::kChanged) {
    w.key("rerandomized").value(change.rerandomized);
    w.key("movedShare").value(change.moved);
    if (!change.rerandomized) {
      w.key("movedHashes").value(change.moved_hashes);
    }
    w.key("between").value(change.between);
    w.key("entered").value(change.entered);
    w.key("left").value(change.left);
    w.key("unbucketedUsersMove").value(change.unbucketed_moved);
    w.key("individuals");
    write_inclusions(w, change.individuals);
    w.key("cohorts");
    write_inclusions(w, change.cohorts);
    w.key("fields").begin_array();
    for (std::string_view field : change.fields) {
      w.value(field);
    }
    w.end_array();
  }
  w.key("movesUsers").value(change.moves_users());
  w.end_object();
}

}  // namespace mutex_edge::integrity
