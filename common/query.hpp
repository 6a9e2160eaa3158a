#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mutex_edge::common {

/// The parameters of a query string (the part of a target after '?'), percent-decoded ('+' as a
/// space) into buffers that are reused, so that parsing allocates only while they grow.
class QueryParams {
 public:
  struct Param {
    std::string_view key;
    std::string_view value;
  };

  /// Parses `query`. Refuses (with a message for the client) a malformed query or one with more
  /// than `max_params` parameters. Views stay valid until the next parse.
  [[nodiscard]] bool parse(std::string_view query, std::size_t max_params, std::string& error);

  [[nodiscard]] std::span<const Param> params() const noexcept { return params_; }

 private:
  bool split(std::string_view query, std::size_t max_params, std::string& error);
  static std::string too_many(std::size_t max_params);

  std::string query_;    // a NUL-terminated copy (Boost.URL 1.81 reads past a view's end)
  std::string decoded_;  // every key and value, back to back
  std::vector<Param> params_;
};

}  // namespace mutex_edge::common
