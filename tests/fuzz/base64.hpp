#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Base64 for the targets whose input the product takes base64-encoded (it only decodes it).
namespace mutex_edge::fuzz {

/// `data` in base64 (RFC 4648): the standard alphabet (`+/`) or the URL-safe one (`-_`), with
/// or without `=` padding.
[[nodiscard]] inline std::string base64(std::string_view data, bool url_safe, bool padded) {
  const std::string_view alphabet =
      url_safe ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
               : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto byte = [data](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(data[i]));
  };
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  // The first `sextets` 6-bit groups of the 24 bits of `bits`.
  auto put = [&out, alphabet](std::uint32_t bits, int sextets) {
    for (int k = 0; k < sextets; ++k) {
      out += alphabet[(bits >> (18 - 6 * k)) & 63U];
    }
  };
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    put((byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2), 4);
  }
  if (data.size() - i == 1) {
    put(byte(i) << 16, 2);
    if (padded) {
      out += "==";
    }
  } else if (data.size() - i == 2) {
    put((byte(i) << 16) | (byte(i + 1) << 8), 3);
    if (padded) {
      out += '=';
    }
  }
  return out;
}

}  // namespace mutex_edge::fuzz
