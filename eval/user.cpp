#include "eval/user.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace mutex_edge::eval {

bool is_top_level_user_field(std::string_view name) noexcept {
  static constexpr std::array<std::string_view, 20> kTopLevel = {
      "user_id",      "device_id",     "amplitude_id", "country",
      "city",         "region",        "dma",          "language",
      "platform",     "version",       "os",           "device_manufacturer",
      "device_brand", "device_model",  "carrier",      "library",
      "ip_address",   "start_version", "paying",       "cohort_ids"};
  for (std::string_view field : kTopLevel) {
    if (field == name) {
      return true;
    }
  }
  return false;
}

std::size_t format_js_number(double value, char* out) noexcept {
  if (std::isnan(value)) {
    std::memcpy(out, "NaN", 3);
    return 3;
  }
  char* p = out;
  if (std::signbit(value) && value != 0) {
    *p++ = '-';
    value = -value;
  }
  if (std::isinf(value)) {
    std::memcpy(p, "Infinity", 8);
    return static_cast<std::size_t>(p - out) + 8;
  }
  if (value == 0) {
    *p++ = '0';
    return static_cast<std::size_t>(p - out);
  }

  // Shortest round-trip digits, as ECMAScript's Number::toString requires: d[.ddd]e±x.
  std::array<char, 40> sci{};
  auto [end, ec] =
      std::to_chars(sci.data(), sci.data() + sci.size(), value, std::chars_format::scientific);
  (void)ec;  // cannot fail: the buffer holds any double
  std::array<char, 20> digits{};
  int k = 0;
  const char* q = sci.data();
  for (; q != end && *q != 'e'; ++q) {
    if (*q != '.') {
      digits[static_cast<std::size_t>(k++)] = *q;
    }
  }
  int exponent = 0;
  std::from_chars(q + 1 + (q[1] == '+' ? 1 : 0), end, exponent);
  const int n = exponent + 1;  // the decimal point sits after n digits

  auto put_digits = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      *p++ = digits[static_cast<std::size_t>(i)];
    }
  };
  if (k <= n && n <= 21) {
    put_digits(0, k);
    for (int i = k; i < n; ++i) {
      *p++ = '0';
    }
  } else if (0 < n && n <= 21) {
    put_digits(0, n);
    *p++ = '.';
    put_digits(n, k);
  } else if (-6 < n && n <= 0) {
    *p++ = '0';
    *p++ = '.';
    for (int i = 0; i < -n; ++i) {
      *p++ = '0';
    }
    put_digits(0, k);
  } else {
    put_digits(0, 1);
    if (k > 1) {
      *p++ = '.';
      put_digits(1, k);
    }
    *p++ = 'e';
    *p++ = n - 1 >= 0 ? '+' : '-';
    p = std::to_chars(p, out + kMaxJsNumberChars, std::abs(n - 1)).ptr;
  }
  return static_cast<std::size_t>(p - out);
}

}  // namespace mutex_edge::eval
