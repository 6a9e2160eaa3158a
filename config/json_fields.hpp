#pragma once
// The one set of JSON field readers behind every decoder of the group model: the served
// configuration (list pages, files, persisted state, seeds) and mutex-mgmt's request bodies.
// Private to config/: only its .cpp files include this header (and so simdjson).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "common/hash.hpp"
#include "config/error.hpp"
#include "config/model.hpp"

namespace mutex_edge::config::detail {

namespace dom = simdjson::dom;

/// "an array", "a number", "null", ...: the type a JSON value was, for "must be X, got Y".
[[nodiscard]] std::string_view json_type_name(dom::element_type type) noexcept;

/// A digest of a JSON value's content: its structure, keys and values (strings as decoded,
/// numbers by value), not its formatting.
[[nodiscard]] common::Digest digest_of(dom::element value) noexcept;

/// Which document a group comes from; they differ in what is required and what is read.
enum class GroupShape : std::uint8_t {
  kServed,  // a list page, a config file, the persisted state: id, key, bucketingKey,
            // bucketingSalt, slots and each slot's index and percentage are required
  kSeed,    // mutex-mgmt's seed file: as served, but id, key, bucketingKey, bucketingSalt and
            // evaluationMode may be missing or null (they are filled in)
  kCreate,  // a create body: projectId, name and slots required; id, slot index, name and
            // variant key are not read (a slot's place is its index); given strings not empty
};

/// Where a value is, for a message: `prefix.name[index]` ("slots[2].experiments[0]"), made
/// into text only when something is wrong with it (so a valid document builds no path).
struct Field {
  Field(const char* field_name) : name{field_name} {}       // NOLINT: a literal is a field name
  Field(std::string_view field_name) : name{field_name} {}  // NOLINT
  Field(std::string_view field_prefix, std::string_view field_name,
        std::size_t field_index = kNoIndex)
      : prefix{field_prefix}, name{field_name}, index{field_index} {}

  static constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);

  [[nodiscard]] Field at(std::size_t i) const { return {prefix, name, i}; }
  [[nodiscard]] std::string str() const;

  std::string_view prefix;
  std::string_view name;
  std::size_t index = kNoIndex;
};

/// Reads typed values into the model, reporting each problem with its field path. Two
/// policies: collect every problem, or stop at the first (ok() is then false, and every later
/// read does nothing and returns false).
class FieldReader {
 public:
  enum class Policy : std::uint8_t { kCollectAll, kStopAtFirst };

  FieldReader(const ConfigLimits& limits, Policy policy, std::vector<ConfigError>& errors)
      : limits_{limits}, policy_{policy}, errors_{errors}, first_{errors.size()} {}

  /// False once a problem was reported (with either policy).
  [[nodiscard]] bool ok() const noexcept { return errors_.size() == first_; }
  [[nodiscard]] const ConfigLimits& limits() const noexcept { return limits_; }

  void fail(Problem problem, const Field& field, std::string message);
  void wrong_type(const Field& field, std::string_view expected, dom::element value);

  /// Parses a request body that must be one JSON object (`parser` keeps its buffers).
  bool body_object(dom::parser& parser, std::string_view body, dom::object& out);

  bool string(dom::element value, const Field& field, std::size_t limit, std::string& out);
  /// A string that, when given, is not empty.
  bool non_empty_string(dom::element value, const Field& field, std::size_t limit,
                        std::string& out);
  /// Ids are numbers in responses; numbers or strings of digits on input (design.md section 1).
  bool id(dom::element value, const Field& field, std::int64_t& out);
  /// An integer in [min, max]; out of range (or fractional) is `range_problem`.
  bool integer(dom::element value, const Field& field, int min, int max, int& out,
               Problem range_problem);
  /// Lists; null is an empty list.
  bool ids(dom::element value, const Field& field, std::vector<std::int64_t>& out);
  bool strings(dom::element value, const Field& field, std::vector<std::string>& out);
  /// User ids (individuals, cohort members): strings, or integers within JavaScript's safe
  /// range (|n| <= 2^53 - 1) kept as their decimal text. Fractions, exponents, larger integers,
  /// booleans and null are refused. `limit`: the longest string.
  bool identifier(dom::element value, const Field& field, std::size_t limit, std::string& out);
  bool identifiers(dom::element value, const Field& field, std::vector<std::string>& out);

  /// One group of the given shape. Problems carry field paths; the group label is the caller's.
  void group(dom::element value, GroupShape shape, GroupConfig& out);
  void group(dom::object object, GroupShape shape, GroupConfig& out);

 private:
  template <typename Each>
  bool list(dom::element value, const Field& field, std::string_view items, Each each);
  bool slots(dom::element value, GroupShape shape, std::vector<SlotConfig>& out);
  bool slot(dom::element value, GroupShape shape, std::size_t position, SlotConfig& out);
  /// Reads an optional string field of a group: null counts as absent.
  bool optional_string(dom::element value, const Field& field, std::size_t limit, bool non_empty,
                       std::string& out);
  bool stopped() const noexcept { return policy_ == Policy::kStopAtFirst && !ok(); }

  const ConfigLimits& limits_;
  Policy policy_;
  std::vector<ConfigError>& errors_;
  std::size_t first_;
};

}  // namespace mutex_edge::config::detail
