#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <vector>

namespace mutex_edge::http {

enum class KeyCheck : unsigned char { kOk, kMissing, kInvalid };

/// The keys a server accepts as "Authorization: Bearer <key>" (mutex-mgmt's API keys, mutex-edge's
/// client keys). Only their SHA-256 digests are kept, and a presented key
/// is compared with every one of them in constant time, so neither the position of the first
/// differing byte nor the key's length shows in the timing.
class BearerKeys {
 public:
  BearerKeys() = default;

  /// A variable's value (MUTEX_MGMT_API_KEYS, MUTEX_EDGE_CLIENT_KEYS): comma-separated keys, blanks
  /// around each ignored, empty entries skipped.
  [[nodiscard]] static BearerKeys parse(std::string_view list);
  /// Exactly one key, taken whole (no splitting, no trimming): a secret.
  [[nodiscard]] static BearerKeys of(std::string_view key);

  [[nodiscard]] bool empty() const noexcept { return digests_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return digests_.size(); }

  /// Checks an `Authorization` header value: `Bearer <key>` (the scheme in any case), or
  /// `<scheme> <key>` for another scheme (Amplitude's SDKs send `Api-Key <deployment key>`).
  [[nodiscard]] KeyCheck check(std::string_view authorization,
                               std::string_view scheme = "bearer") const;
  /// Whether `key` itself (not a header) is one of the keys, compared as check() compares.
  [[nodiscard]] bool accepts(std::string_view key) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest digest(std::string_view key);

  std::vector<Digest> digests_;
};

}  // namespace mutex_edge::http
