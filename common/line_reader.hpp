#pragma once

#include <cstddef>
#include <streambuf>
#include <string_view>
#include <vector>

namespace mutex_edge::common {

/// How much LineReader asks its stream for at a time.
inline constexpr std::size_t kReadBlock = std::size_t{1} << 20;

/// Splits a stream into lines, reading it in large blocks (no per-character calls).
class LineReader {
 public:
  LineReader(std::streambuf& in, std::size_t max_line)
      : in_{in}, max_{max_line}, buffer_(kReadBlock + max_line + 1) {}

  /// The next line without its '\n' (and a '\r' before it), or false at the end of the input.
  /// A line longer than the maximum sets `too_long` and comes back empty (it is skipped whole).
  bool next(std::string_view& line, bool& too_long);

 private:
  static std::string_view strip_cr(std::string_view s) noexcept {
    return !s.empty() && s.back() == '\r' ? s.substr(0, s.size() - 1) : s;
  }

  std::streambuf& in_;
  std::size_t max_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  bool skipping_ = false;
};

}  // namespace mutex_edge::common
