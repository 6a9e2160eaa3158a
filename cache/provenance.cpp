#include "cache/provenance.hpp"

namespace mutex_edge::cache {
namespace {

constexpr std::array<std::string_view, kSourceKinds.size()> kSourceNames = {"file", "upstream",
                                                                            "persisted"};
constexpr std::array<std::string_view, kPollOutcomes.size()> kOutcomeNames = {
    "updated",      "unchanged",  "not_modified",  "auth_error",
    "rate_limited", "http_error", "network_error", "invalid_response"};

static_assert(!kSourceNames.back().empty() && !kOutcomeNames.back().empty(),
              "every source kind and poll outcome has a name");
static_assert(static_cast<std::size_t>(kPollOutcomes.back()) + 1 == kPollOutcomes.size() &&
                  static_cast<std::size_t>(kSourceKinds.back()) + 1 == kSourceKinds.size(),
              "kSourceKinds and kPollOutcomes list every value in order");

}  // namespace

std::string_view to_string(SourceKind kind) noexcept {
  return kSourceNames[static_cast<std::size_t>(kind)];
}

std::string_view to_string(PollOutcome outcome) noexcept {
  return kOutcomeNames[static_cast<std::size_t>(outcome)];
}

}  // namespace mutex_edge::cache
