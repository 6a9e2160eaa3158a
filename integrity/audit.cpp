#include "integrity/audit.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wire/request_decoder.hpp"

#include <boost/math/distributions/chi_squared.hpp>

#include "common/json_writer.hpp"
#include "common/line_reader.hpp"
#include "common/text.hpp"
#include "eval/impact.hpp"

namespace mutex_edge::integrity {
namespace {

constexpr std::size_t kMaxExamples = 5;
constexpr std::size_t kMaxBadLinesShown = 20;
constexpr std::size_t kMaxUnknownGroupsShown = 100;
constexpr double kSrmThreshold = 0.001;
constexpr double kMinExpected = 5;  // below it in a category, chi-squared is no fair test

/// The distinct users of one group: an open-addressing table of 64-bit words, each a 56-bit hash
/// of a user's identity and 8 bits of state. Two users whose hashes agree in those 56 bits are
/// taken for one: among 10 million users that happens to a pair with probability about 1e-3.
class UserTable {
 public:
  struct Found {
    std::uint64_t* entry;
    bool inserted;
  };

  /// The entry of the user whose identity hashes to `hash`, made with `state` when new.
  Found find_or_insert(std::uint64_t hash, std::uint8_t state) {
    if ((size_ + 1) * 4 > slots_.size() * 3) {
      grow();
    }
    std::uint64_t key = hash >> 8;
    key = key == 0 ? 1 : key;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(key) & mask;; i = (i + 1) & mask) {
      std::uint64_t& entry = slots_[i];
      if (entry == 0) {
        entry = (key << 8) | state;
        ++size_;
        return {&entry, true};
      }
      if ((entry >> 8) == key) {
        return {&entry, false};
      }
    }
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t bytes() const noexcept { return slots_.size() * kAuditBytesPerSlot; }

 private:
  void grow() {
    std::vector<std::uint64_t> old(slots_.empty() ? 1024 : slots_.size() * 2, 0);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const std::uint64_t entry : old) {
      if (entry == 0) {
        continue;
      }
      for (std::size_t i = static_cast<std::size_t>(entry >> 8) & mask;; i = (i + 1) & mask) {
        if (slots_[i] == 0) {
          slots_[i] = entry;
          break;
        }
      }
    }
  }

  std::vector<std::uint64_t> slots_;
  std::size_t size_ = 0;
};

// A user's state: the slot first observed (a position, or kNullCode / kOtherCode), whether it
// counts in the SRM test, whether it was seen in a second slot.
constexpr std::uint8_t kCodeMask = 0x1f;
constexpr std::uint8_t kNullCode = 30;   // observed in no slot
constexpr std::uint8_t kOtherCode = 31;  // observed in a slot the group does not have
constexpr std::uint8_t kCounted = 0x20;
constexpr std::uint8_t kCrossed = 0x40;

std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t identity(std::string_view value, std::uint64_t kind) noexcept {
  return mix(static_cast<std::uint64_t>(std::hash<std::string_view>{}(value)) ^
             (kind * 0x9e3779b97f4a7c15ULL));
}

struct UserText {
  std::optional<std::string> user_id;
  std::optional<std::string> device_id;
  std::optional<std::string> bucketing_value;
};

struct Mismatch {
  std::size_t line = 0;
  UserText user;
  std::optional<std::string> observed;  // nullopt: no slot
  std::optional<std::string> expected;
  std::string_view reason;
  std::optional<std::uint32_t> d;
};

struct Crossover {
  std::size_t line = 0;  // where the second slot was seen
  UserText user;
  std::optional<std::string> first;
  std::optional<std::string> then;
};

struct GroupAudit {
  std::uint64_t lines = 0;
  std::uint64_t anonymous = 0;  // lines whose user has no id to tell users apart
  std::uint64_t mismatches = 0;
  std::uint64_t crossovers = 0;
  UserTable users;
  std::vector<Mismatch> mismatch_examples;
  std::vector<Crossover> crossover_examples;
  std::vector<std::uint64_t> counts;  // SRM: distinct users by first slot seen; last: no slot
  std::uint64_t excluded_inclusion = 0;
  std::uint64_t excluded_unbucketed = 0;
  std::uint64_t excluded_crossed = 0;
  std::uint64_t excluded_other = 0;
};

struct Category {
  std::string slot;  // a variant key, or "(no slot)"
  std::uint64_t observed = 0;
  double share = 0;  // configured
  double expected = 0;
};

struct Srm {
  std::string_view verdict;  // ok, srm, too_few_users, not_applicable, no_users
  std::vector<Category> categories;
  std::uint64_t users = 0;
  bool unallocated_included = false;
  double chi_squared = 0;
  std::size_t degrees_of_freedom = 0;
  double p_value = 1;
};

/// A number of the text report, to six significant digits (the JSON's are exact).
std::string number(double value) {
  char text[48];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

void write_optional(common::JsonWriter& w, const std::optional<std::string>& value) {
  if (value) {
    w.value(*value);
  } else {
    w.null();
  }
}

std::string show(const std::optional<std::string>& slot) {
  return slot ? *slot : std::string{"(no slot)"};
}

std::string show(const UserText& user) {
  std::string text;
  auto add = [&text](std::string_view name, const std::optional<std::string>& value) {
    if (value) {
      text.append(text.empty() ? "" : " ").append(name).append("=");
      std::string quoted;
      common::JsonWriter{quoted}.value(*value);
      text += quoted;
    }
  };
  add("user_id", user.user_id);
  add("device_id", user.device_id);
  add("bucketing value", user.bucketing_value);
  return text.empty() ? "(no ids)" : text;
}

void write_user(common::JsonWriter& w, const UserText& user) {
  w.begin_object();
  w.key("user_id");
  write_optional(w, user.user_id);
  w.key("device_id");
  write_optional(w, user.device_id);
  w.key("bucketingValue");
  write_optional(w, user.bucketing_value);
  w.end_object();
}

class AuditRun {
 public:
  AuditRun(const cache::Snapshot& snapshot, std::vector<bool> selected)
      : snapshot_{snapshot},
        selected_{std::move(selected)},
        all_selected_{std::all_of(selected_.begin(), selected_.end(), [](bool b) { return b; })},
        audits_(snapshot.size()) {
    for (std::size_t i = 0; i < snapshot.size(); ++i) {
      audits_[i].counts.assign(snapshot.group(i).slot_count() + 1, 0);
    }
  }

  void run(std::istream& in) {
    common::LineReader reader{*in.rdbuf(), wire::RequestLimits{}.max_document_bytes};
    std::string_view line;
    bool too_long = false;
    while (reader.next(line, too_long)) {
      ++line_number_;
      if (too_long) {
        bad("the line is longer than " + std::to_string(wire::RequestLimits{}.max_document_bytes) +
            " bytes");
        continue;
      }
      if (line.find_first_not_of(" \t") == std::string_view::npos) {
        continue;
      }
      ++lines_;
      auto parsed = decoder_.parse_exposure(line);
      if (!parsed) {
        bad(parsed.error().message);
        continue;
      }
      if (parsed->shape == wire::ExposureLine::Shape::kOtherEvent || parsed->exposures.empty()) {
        ++ignored_;
        continue;
      }
      std::optional<eval::User> user;
      for (const wire::Exposure& exposure : parsed->exposures) {
        const auto pos = snapshot_.find_key(exposure.mutex);
        if (!pos) {
          unknown(exposure.mutex);
          continue;
        }
        if (!selected_[*pos]) {
          ++not_audited_;
          continue;
        }
        if (!user) {
          auto decoded = decoder_.user(0);
          if (!decoded) {
            bad(decoded.error().message);
            break;
          }
          user = *decoded;
        }
        observe(*pos, *user, exposure.slot);
      }
    }
  }

  /// Exit status: 1 on a mismatch or an SRM.
  [[nodiscard]] int report(std::ostream& out, bool json) const {
    bool failed = false;
    std::vector<Srm> srms(audits_.size());
    for (std::size_t i = 0; i < audits_.size(); ++i) {
      if (!shown(i)) {
        continue;
      }
      srms[i] = srm(i);
      failed = failed || audits_[i].mismatches != 0 || srms[i].verdict == "srm";
    }
    if (json) {
      write_json(out, srms, failed);
    } else {
      write_text(out, srms, failed);
    }
    return failed ? 1 : 0;
  }

 private:
  [[nodiscard]] bool shown(std::size_t i) const {
    return audits_[i].lines != 0 || (selected_[i] && !all_selected_);
  }

  void bad(std::string message) {
    ++bad_lines_;
    if (bad_examples_.size() < kMaxBadLinesShown) {
      bad_examples_.emplace_back(line_number_, std::move(message));
    }
  }

  void unknown(std::string_view key) {
    ++unknown_lines_;
    auto it = unknown_.find(key);
    if (it != unknown_.end()) {
      ++it->second;
    } else if (unknown_.size() < kMaxUnknownGroupsShown) {
      unknown_.emplace(std::string{key}, 1);
    }
  }

  [[nodiscard]] static std::uint8_t code_of(const cache::GroupEntry& group,
                                            const std::optional<std::string_view>& slot) {
    if (!slot) {
      return kNullCode;
    }
    for (std::size_t pos = 0; pos < group.slot_count() && pos < kNullCode; ++pos) {
      if (group.slot(pos).variant_key == *slot) {
        return static_cast<std::uint8_t>(pos);
      }
    }
    return kOtherCode;
  }

  [[nodiscard]] static UserText text_of(const eval::User& user,
                                        const std::optional<std::string_view>& value) {
    UserText text;
    if (user.user_id) {
      text.user_id = std::string{*user.user_id};
    }
    if (user.device_id) {
      text.device_id = std::string{*user.device_id};
    }
    if (value) {
      text.bucketing_value = std::string{*value};
    }
    return text;
  }

  [[nodiscard]] static std::optional<std::string> slot_text(const cache::GroupEntry& group,
                                                            std::uint8_t code,
                                                            std::optional<std::string_view> seen) {
    if (code == kNullCode) {
      return std::nullopt;
    }
    if (code == kOtherCode) {
      return std::string{seen.value_or("")};
    }
    return std::string{group.slot(code).variant_key};
  }

  void observe(std::size_t pos, const eval::User& user,
               const std::optional<std::string_view>& observed) {
    const cache::GroupEntry& group = snapshot_.group(pos);
    const eval::CompiledGroup& compiled = group.compiled();
    GroupAudit& g = audits_[pos];
    ++g.lines;
    const eval::Assignment a = compiled.assign(user);
    const std::uint8_t code = code_of(group, observed);
    const auto expected =
        a.slot == eval::kNoSlot ? kNullCode : static_cast<std::uint8_t>(std::min(a.slot, 29));
    const std::optional<std::string_view> value = compiled.bucketing_value(user);
    const bool has_value = value && !value->empty();
    if (code != expected) {
      ++g.mismatches;
      if (g.mismatch_examples.size() < kMaxExamples) {
        Mismatch m;
        m.line = line_number_;
        m.user = text_of(user, value);
        m.observed = slot_text(group, code, observed);
        m.expected = slot_text(group, expected, std::nullopt);
        m.reason = eval::to_string(a.reason);
        if (a.hashed) {
          m.d = a.d;
        }
        g.mismatch_examples.push_back(std::move(m));
      }
    }

    std::uint64_t id = 0;
    if (has_value) {
      id = identity(*value, 1);
    } else if (user.user_id && !user.user_id->empty()) {
      id = identity(*user.user_id, 2);
    } else if (user.device_id && !user.device_id->empty()) {
      id = identity(*user.device_id, 3);
    } else {
      ++g.anonymous;
      return;
    }
    const bool random = a.reason == eval::Reason::kBucket ||
                        a.reason == eval::Reason::kUnallocated || a.reason == eval::Reason::kAll;
    const bool full =
        group.slot_count() != 0 &&
        group.compiled().upper_bound(group.slot_count() - 1) == eval::kDistributionEnd;
    const bool counted = random && code != kOtherCode && !(code == kNullCode && full);
    const auto found =
        g.users.find_or_insert(id, static_cast<std::uint8_t>(code | (counted ? kCounted : 0)));
    if (found.inserted) {
      if (counted) {
        ++g.counts[code == kNullCode ? group.slot_count() : code];
      } else if (!random) {
        ++(a.reason == eval::Reason::kNoBucketingValue ? g.excluded_unbucketed
                                                       : g.excluded_inclusion);
      } else {
        ++g.excluded_other;
      }
      return;
    }
    const auto state = static_cast<std::uint8_t>(*found.entry & 0xff);
    const std::uint8_t first = state & kCodeMask;
    if (first == code || (state & kCrossed) != 0) {
      return;
    }
    ++g.crossovers;
    if ((state & kCounted) != 0) {
      --g.counts[first == kNullCode ? group.slot_count() : first];
      ++g.excluded_crossed;
    }
    *found.entry = (*found.entry & ~std::uint64_t{0xff}) | (first | kCrossed);
    if (g.crossover_examples.size() < kMaxExamples) {
      Crossover c;
      c.line = line_number_;
      c.user = text_of(user, value);
      c.first = slot_text(group, first, std::nullopt);
      if (first == kOtherCode) {
        c.first = std::string{"(a slot the group does not have)"};
      }
      c.then = slot_text(group, code, observed);
      g.crossover_examples.push_back(std::move(c));
    }
  }

  [[nodiscard]] Srm srm(std::size_t pos) const {
    const cache::GroupEntry& group = snapshot_.group(pos);
    const GroupAudit& g = audits_[pos];
    std::vector<eval::SlotShare> shares;
    for (std::size_t i = 0; i < group.slot_count(); ++i) {
      shares.push_back({group.slot(i).index, group.slot(i).percentage});
    }
    Srm s;
    const std::size_t n = group.slot_count();
    const std::uint64_t unallocated = eval::slot_hashes(shares, n);
    // The unallocated share is a category only when the input shows users in no slot at all:
    // many pipelines log exposures of assigned users alone, and the slots' shares are then
    // taken relative to the allocated share.
    s.unallocated_included = unallocated != 0 && g.counts[n] != 0;
    std::uint64_t total_hashes = 0;
    for (std::size_t i = 0; i <= n; ++i) {
      if (i == n && !s.unallocated_included) {
        break;
      }
      const std::uint64_t hashes = eval::slot_hashes(shares, i);
      total_hashes += hashes;
      Category c;
      c.slot = i < n ? std::string{group.slot(i).variant_key} : std::string{"(no slot)"};
      c.observed = g.counts[i];
      c.share = static_cast<double>(hashes);
      s.users += c.observed;
      s.categories.push_back(std::move(c));
    }
    double min_expected = -1;
    for (Category& c : s.categories) {
      c.share /= static_cast<double>(total_hashes);
      c.expected = c.share * static_cast<double>(s.users);
      min_expected = min_expected < 0 ? c.expected : std::min(min_expected, c.expected);
      if (c.expected > 0) {
        const double diff = static_cast<double>(c.observed) - c.expected;
        s.chi_squared += diff * diff / c.expected;
      }
    }
    if (s.categories.size() < 2) {
      s.verdict = "not_applicable";
      return s;
    }
    s.degrees_of_freedom = s.categories.size() - 1;
    if (s.users == 0) {
      s.verdict = "no_users";
      return s;
    }
    const boost::math::chi_squared_distribution<double> distribution{
        static_cast<double>(s.degrees_of_freedom)};
    s.p_value = boost::math::cdf(boost::math::complement(distribution, s.chi_squared));
    if (min_expected < kMinExpected) {
      s.verdict = "too_few_users";
      return s;
    }
    s.verdict = s.p_value < kSrmThreshold ? "srm" : "ok";
    return s;
  }

  void write_json(std::ostream& out, const std::vector<Srm>& srms, bool failed) const {
    std::string text;
    common::JsonWriter w{text};
    w.begin_object();
    w.key("result").value(failed ? "fail" : "pass");
    w.key("lines").value(lines_);
    w.key("badLines").begin_object();
    w.key("count").value(bad_lines_);
    w.key("first").begin_array();
    for (const auto& [line, message] : bad_examples_) {
      w.begin_object().key("line").value(line).key("error").value(message).end_object();
    }
    w.end_array().end_object();
    w.key("ignoredLines").value(ignored_);
    w.key("notAuditedExposures").value(not_audited_);
    w.key("unknownGroups").begin_object();
    w.key("exposures").value(unknown_lines_);
    w.key("keys").begin_object();
    for (const auto& [key, count] : unknown_) {
      w.key(key).value(count);
    }
    w.end_object().end_object();
    w.key("srmThreshold").value(kSrmThreshold);
    w.key("groups").begin_array();
    for (std::size_t i = 0; i < audits_.size(); ++i) {
      if (!shown(i)) {
        continue;
      }
      const GroupAudit& g = audits_[i];
      const Srm& s = srms[i];
      w.begin_object();
      w.key("mutex").value(snapshot_.group(i).key());
      w.key("lines").value(g.lines);
      w.key("distinctUsers").value(g.users.size());
      w.key("linesWithoutId").value(g.anonymous);
      w.key("userTableBytes").value(g.users.bytes());
      w.key("mismatches").begin_object();
      w.key("count").value(g.mismatches);
      w.key("examples").begin_array();
      for (const Mismatch& m : g.mismatch_examples) {
        w.begin_object();
        w.key("line").value(m.line);
        w.key("user");
        write_user(w, m.user);
        w.key("observed");
        write_optional(w, m.observed);
        w.key("engine");
        write_optional(w, m.expected);
        w.key("reason").value(m.reason);
        w.key("d");
        if (m.d) {
          w.value(*m.d);
        } else {
          w.null();
        }
        w.end_object();
      }
      w.end_array().end_object();
      w.key("crossovers").begin_object();
      w.key("count").value(g.crossovers);
      w.key("examples").begin_array();
      for (const Crossover& c : g.crossover_examples) {
        w.begin_object();
        w.key("line").value(c.line);
        w.key("user");
        write_user(w, c.user);
        w.key("first");
        write_optional(w, c.first);
        w.key("then");
        write_optional(w, c.then);
        w.end_object();
      }
      w.end_array().end_object();
      w.key("srm").begin_object();
      w.key("verdict").value(s.verdict);
      w.key("users").value(s.users);
      w.key("unallocatedIncluded").value(s.unallocated_included);
      w.key("excluded").begin_object();
      w.key("inclusion").value(g.excluded_inclusion);
      w.key("noBucketingValue").value(g.excluded_unbucketed);
      w.key("crossover").value(g.excluded_crossed);
      w.key("otherSlot").value(g.excluded_other);
      w.end_object();
      w.key("slots").begin_array();
      for (const Category& c : s.categories) {
        w.begin_object();
        w.key("slot").value(c.slot);
        w.key("observed").value(c.observed);
        w.key("expected").value(c.expected);
        w.key("share").value(c.share);
        w.end_object();
      }
      w.end_array();
      w.key("chiSquared").value(s.chi_squared);
      w.key("degreesOfFreedom").value(s.degrees_of_freedom);
      w.key("pValue").value(s.p_value);
      w.end_object();
      w.end_object();
    }
    w.end_array();
    w.end_object();
    out << text << '\n';
  }

  void write_text(std::ostream& out, const std::vector<Srm>& srms, bool failed) const {
    out << "mutex-edge audit: " << lines_ << " lines, " << bad_lines_ << " bad, " << ignored_
        << " ignored (other events), " << unknown_lines_ << " exposures of groups not in the "
        << "config, " << not_audited_ << " of groups not asked for\n";
    for (const auto& [line, message] : bad_examples_) {
      out << "  bad line " << line << ": " << message << '\n';
    }
    if (bad_lines_ > bad_examples_.size()) {
      out << "  ... and " << bad_lines_ - bad_examples_.size() << " more bad lines\n";
    }
    for (const auto& [key, count] : unknown_) {
      out << "  not in the config: \"" << key << "\" (" << count << " exposures)\n";
    }
    std::size_t srm_groups = 0;
    std::uint64_t mismatches = 0;
    for (std::size_t i = 0; i < audits_.size(); ++i) {
      if (!shown(i)) {
        continue;
      }
      const GroupAudit& g = audits_[i];
      const Srm& s = srms[i];
      if (s.verdict == "srm") {
        ++srm_groups;
      }
      mismatches += g.mismatches;
      out << "\ngroup \"" << snapshot_.group(i).key() << "\": " << g.lines << " lines, "
          << g.users.size() << " distinct users";
      if (g.anonymous != 0) {
        out << " (" << g.anonymous << " lines without an id)";
      }
      out << '\n';
      out << "  mismatches: " << g.mismatches << '\n';
      for (const Mismatch& m : g.mismatch_examples) {
        out << "    line " << m.line << ": " << show(m.user) << " seen in " << show(m.observed)
            << ", the engine says " << show(m.expected) << " (" << m.reason;
        if (m.d) {
          out << ", d=" << *m.d;
        }
        out << ")\n";
      }
      out << "  crossovers: " << g.crossovers << '\n';
      for (const Crossover& c : g.crossover_examples) {
        out << "    line " << c.line << ": " << show(c.user) << " seen in " << show(c.first)
            << ", then in " << show(c.then) << '\n';
      }
      out << "  distinct users by slot (users by individual or cohort, without a bucketing value "
             "or seen in two slots are left out):\n";
      char row[160];
      std::snprintf(row, sizeof row, "    %-16s %12s %12s %10s\n", "slot", "observed", "expected",
                    "share");
      out << row;
      for (const Category& c : s.categories) {
        std::snprintf(row, sizeof row, "    %-16s %12llu %12.1f %9.4f%%\n",
                      (c.slot.size() <= 16 ? c.slot : c.slot.substr(0, 13) + "...").c_str(),
                      static_cast<unsigned long long>(c.observed), c.expected, c.share * 100);
        out << row;
      }
      out << "    left out: " << g.excluded_inclusion << " by individual or cohort, "
          << g.excluded_unbucketed << " without a bucketing value, " << g.excluded_crossed
          << " seen in two slots, " << g.excluded_other << " in no configured slot\n";
      if (s.verdict == "not_applicable" || s.verdict == "no_users") {
        out << "  SRM: " << (s.verdict == "no_users" ? "no users to test" : "one slot, no test")
            << '\n';
        continue;
      }
      out << "  chi-squared " << number(s.chi_squared) << " with " << s.degrees_of_freedom
          << (s.degrees_of_freedom == 1 ? " degree" : " degrees")
          << " of freedom: p = " << number(s.p_value) << ", "
          << (s.verdict == "srm"             ? "SRM (p < 0.001)"
              : s.verdict == "too_few_users" ? "too few users for a verdict (an expected count "
                                               "under 5)"
                                             : "no SRM")
          << '\n';
    }
    out << "\nresult: " << (failed ? "FAIL" : "pass") << " (" << mismatches
        << (mismatches == 1 ? " mismatch, " : " mismatches, ") << srm_groups
        << (srm_groups == 1 ? " group" : " groups") << " with an SRM)\n";
  }

  const cache::Snapshot& snapshot_;
  std::vector<bool> selected_;
  bool all_selected_;
  std::vector<GroupAudit> audits_;
  wire::RequestDecoder decoder_;
  std::size_t line_number_ = 0;
  std::uint64_t lines_ = 0;
  std::uint64_t bad_lines_ = 0;
  std::uint64_t ignored_ = 0;
  std::uint64_t not_audited_ = 0;
  std::uint64_t unknown_lines_ = 0;
  std::vector<std::pair<std::size_t, std::string>> bad_examples_;
  std::map<std::string, std::uint64_t, std::less<>> unknown_;
};

}  // namespace

struct Auditor::Impl {
  AuditRun run;
  Impl(const cache::Snapshot& snapshot, std::vector<bool> selected)
      : run{snapshot, std::move(selected)} {}
};

Auditor::Auditor(const cache::Snapshot& snapshot, std::vector<bool> selected)
    : impl_{std::make_unique<Impl>(snapshot, std::move(selected))} {}

Auditor::~Auditor() = default;

void Auditor::run(std::istream& in) {
  impl_->run.run(in);
}

int Auditor::report(std::ostream& out, bool json) const {
  return impl_->run.report(out, json);
}

}  // namespace mutex_edge::integrity
