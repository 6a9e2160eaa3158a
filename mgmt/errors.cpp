#include "mgmt/errors.hpp"

#include <array>

namespace mutex_edge::mgmt {
namespace {

struct ErrorInfo {
  std::string_view name;
  int status;
};

/// Every error code's name and status, in the enum's order.
constexpr std::array<ErrorInfo, static_cast<std::size_t>(ErrorCode::kStorageError) + 1> kErrors = {{
    {"invalid_json", 400},
    {"invalid_type", 400},
    {"invalid_value", 400},
    {"value_too_long", 400},
    {"too_many_items", 400},
    {"missing_field", 400},
    {"invalid_percentage", 400},
    {"no_slots", 400},
    {"too_many_slots", 400},
    {"invalid_slots", 400},
    {"invalid_evaluation_mode", 400},
    {"percentages_must_sum_to_100", 400},
    {"invalid_query", 400},
    {"invalid_limit", 400},
    {"invalid_cursor", 400},
    {"unauthorized", 401},
    {"not_found", 404},
    {"slot_not_found", 404},
    {"method_not_allowed", 405},
    {"duplicate_key", 409},
    {"payload_too_large", 413},
    {"cohort_too_large", 413},
    {"unsupported_media_type", 415},
    {"rate_limited", 429},
    {"internal_error", 500},
    {"storage_error", 500},
}};
static_assert(kErrors.back().status != 0, "every ErrorCode has a name and a status");

/// The code for each kind of configuration problem, in config::Problem's order.
constexpr std::array<ErrorCode, static_cast<std::size_t>(config::Problem::kDuplicate) + 1>
    kProblemCodes = {
        ErrorCode::kInvalidJson,              // kNotJson
        ErrorCode::kPayloadTooLarge,          // kTooLarge
        ErrorCode::kInvalidType,              // kWrongType
        ErrorCode::kInvalidValue,             // kBadValue
        ErrorCode::kValueTooLong,             // kTooLong
        ErrorCode::kTooManyItems,             // kTooManyItems
        ErrorCode::kMissingField,             // kMissing
        ErrorCode::kInvalidPercentage,        // kBadPercentage
        ErrorCode::kNoSlots,                  // kNoSlots
        ErrorCode::kTooManySlots,             // kTooManySlots
        ErrorCode::kInvalidSlots,             // kDuplicateIndex
        ErrorCode::kInvalidEvaluationMode,    // kEvaluationMode
        ErrorCode::kPercentagesMustSumTo100,  // kAllocation
        ErrorCode::kDuplicateKey,             // kDuplicate
};
static_assert(kProblemCodes.back() == ErrorCode::kDuplicateKey, "every Problem has a code");

}  // namespace

std::string_view to_string(ErrorCode code) noexcept {
  return kErrors[static_cast<std::size_t>(code)].name;
}

int status_of(ErrorCode code) noexcept {
  return kErrors[static_cast<std::size_t>(code)].status;
}

ApiError to_api_error(const config::ConfigError& error) {
  return ApiError{kProblemCodes[static_cast<std::size_t>(error.problem)], error.field_message()};
}

}  // namespace mutex_edge::mgmt
