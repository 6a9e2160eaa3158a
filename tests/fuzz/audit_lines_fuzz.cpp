// Exposure lines fed to `mutex-edge audit --config-file <served listing> --json`
// (tools::run_audit_command: its line reader, RequestDecoder::parse_exposure, the engine, the
// distinct-user table and the SRM test), on the groups of the served configuration. The report
// must be JSON whose counts add up, the exit status 0 or 1; and the same input read in pieces
// of at most 7 bytes (as from a pipe) must give the same report byte for byte.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <istream>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "tools/audit_command.hpp"
#include "wire/request_decoder.hpp"

#include <simdjson.h>

#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/snapshots.hpp"

using namespace mutex_edge;

namespace {

namespace dom = simdjson::dom;

/// A stream's bytes at most 7 at a time, whether read by sgetn (xsgetn) or by the character
/// (underflow): a pipe that delivers a line in many reads.
class SmallReads : public std::streambuf {
 public:
  explicit SmallReads(std::string_view data) : data_{data} {}

 protected:
  std::streamsize xsgetn(char* s, std::streamsize count) override {
    if (count <= 0) {
      return 0;
    }
    if (gptr() < egptr()) {  // what underflow() made available comes first
      const std::streamsize held = std::min<std::streamsize>(count, egptr() - gptr());
      std::memcpy(s, gptr(), static_cast<std::size_t>(held));
      gbump(static_cast<int>(held));
      return held;
    }
    const std::size_t n = std::min({static_cast<std::size_t>(count), kPiece, data_.size() - at_});
    if (n != 0) {
      std::memcpy(s, data_.data() + at_, n);
      at_ += n;
    }
    return static_cast<std::streamsize>(n);
  }

  int_type underflow() override {
    if (gptr() < egptr()) {
      return traits_type::to_int_type(*gptr());
    }
    const std::size_t n = std::min(kPiece, data_.size() - at_);
    if (n == 0) {
      return traits_type::eof();
    }
    std::memcpy(piece_.data(), data_.data() + at_, n);
    at_ += n;
    setg(piece_.data(), piece_.data(), piece_.data() + n);
    return traits_type::to_int_type(piece_[0]);
  }

 private:
  static constexpr std::size_t kPiece = 7;
  std::string_view data_;
  std::size_t at_ = 0;
  std::array<char, kPiece> piece_{};
};

struct Audit {
  int code = 0;
  std::string out;
  std::string err;
};

/// The served listing as a config file, written once.
const std::string& config_file() {
  static const std::string path = [] {
    fuzz::quiet_logs();
    std::vector<config::ConfigError> rejected;
    auto snapshot = cache::Snapshot::build(fuzz::serving_page(), 1, {"file:fuzz"}, rejected);
    if (!rejected.empty()) {
      fuzz::fail("the serving configuration builds with rejections", rejected.front().to_string());
    }
    const std::filesystem::path file = fuzz::scratch_dir() / "groups.json";
    fuzz::write_file(file, fuzz::served_listing(*snapshot));
    return file.string();
  }();
  return path;
}

Audit audit(std::istream& in) {
  const std::array<const char*, 5> argv = {"audit", "--config-file", config_file().c_str(),
                                           "--json", nullptr};
  std::ostringstream out;
  std::ostringstream err;
  Audit result;
  result.code =
      tools::run_audit_command(static_cast<int>(argv.size() - 1), argv.data(), in, out, err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

/// Lines the audit's reader skips as too long (what follows the last '\n' is a line when it is
/// not empty; a '\r' before the '\n' is not part of the line).
std::uint64_t too_long_lines(std::string_view input) {
  const std::size_t max = wire::RequestLimits{}.max_document_bytes;
  std::uint64_t count = 0;
  std::size_t start = 0;
  while (start < input.size()) {
    const std::size_t newline = std::min(input.find('\n', start), input.size());
    std::size_t length = newline - start;
    if (newline != input.size() && length != 0 && input[newline - 1] == '\r') {
      --length;
    }
    if (length > max) {
      ++count;
    }
    start = newline + 1;
  }
  return count;
}

/// A member of an object of the report; aborts when it is not there.
dom::element member(dom::element value, std::string_view name, const std::string& report) {
  dom::element out;
  if (value[name].get(out) != simdjson::SUCCESS) {
    fuzz::fail("the audit report has no " + std::string{name}, report);
  }
  return out;
}

/// A count of the report; aborts when it is not one.
std::uint64_t count_of(dom::element value, std::string_view name, const std::string& report) {
  std::uint64_t n = 0;
  if (member(value, name, report).get_uint64().get(n) != simdjson::SUCCESS) {
    fuzz::fail("the audit report's " + std::string{name} + " is not a count", report);
  }
  return n;
}

/// Aborts unless the report's counts agree with each other.
void check_report(const std::string& report, int code, std::string_view input) {
  fuzz::check_json(report, !fuzz::valid_utf8(input));
  static dom::parser parser;
  dom::element root;
  if (parser.parse(report).get(root) != simdjson::SUCCESS) {
    return;  // bad UTF-8 echoed from the input (check_json allowed it)
  }
  std::string_view result;
  if (root["result"].get_string().get(result) != simdjson::SUCCESS ||
      (result == "fail") != (code == 1)) {
    fuzz::fail("the report's result and the exit status disagree", report);
  }
  const std::uint64_t lines = count_of(root, "lines", report);
  const std::uint64_t bad = count_of(member(root, "badLines", report), "count", report);
  const std::uint64_t ignored = count_of(root, "ignoredLines", report);
  if (lines + too_long_lines(input) < bad + ignored) {
    fuzz::fail("more bad and ignored lines than lines", report);
  }
  dom::array groups;
  if (root["groups"].get_array().get(groups) != simdjson::SUCCESS) {
    fuzz::fail("the audit report has no groups", report);
  }
  for (dom::element group : groups) {
    const std::uint64_t group_lines = count_of(group, "lines", report);
    const std::uint64_t distinct = count_of(group, "distinctUsers", report);
    const std::uint64_t mismatches = count_of(member(group, "mismatches", report), "count", report);
    const std::uint64_t crossovers = count_of(member(group, "crossovers", report), "count", report);
    if (count_of(group, "linesWithoutId", report) > group_lines || mismatches > group_lines ||
        crossovers > group_lines || distinct > group_lines) {
      fuzz::fail("a group's counts exceed its lines", report);
    }
    if (mismatches != 0 && code != 1) {
      fuzz::fail("a mismatch with exit status 0", report);
    }
    // Every distinct user counts once: in a slot of the SRM test, or left out for one reason.
    const dom::element srm = member(group, "srm", report);
    const dom::element excluded = member(srm, "excluded", report);
    std::uint64_t observed = 0;
    dom::array slots;
    if (srm["slots"].get_array().get(slots) != simdjson::SUCCESS) {
      fuzz::fail("a group's SRM test has no slots", report);
    }
    for (dom::element slot : slots) {
      observed += count_of(slot, "observed", report);
    }
    const std::uint64_t users = count_of(srm, "users", report);
    const std::uint64_t left_out =
        count_of(excluded, "inclusion", report) + count_of(excluded, "noBucketingValue", report) +
        count_of(excluded, "crossover", report) + count_of(excluded, "otherSlot", report);
    if (observed != users || users + left_out != distinct) {
      fuzz::fail("a group's distinct users do not add up", report);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::text(data, size);
  std::istringstream whole{std::string{input}};
  const Audit first = audit(whole);
  if (first.code != 0 && first.code != 1) {
    fuzz::fail("the audit ends with status " + std::to_string(first.code), first.err);
  }
  check_report(first.out, first.code, input);

  SmallReads pieces{input};
  std::istream piecewise{&pieces};
  const Audit second = audit(piecewise);
  if (second.code != first.code || second.out != first.out || second.err != first.err) {
    fuzz::fail("the input read in pieces gives another report", first.out + "\n" + second.out);
  }
  return 0;
}
