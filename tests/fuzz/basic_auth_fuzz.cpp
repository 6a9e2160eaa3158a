// An Authorization header value as mutex-mgmt's cohort endpoint and mutex-edge's GET
// /sdk/v1/cohort read it: http::parse_basic, and http::BasicAuth::check with two users and a
// secret that holds a ':'. Both are compared with a reference written from what their headers
// promise (the scheme in any case, base64 in either alphabet, the password everything after the
// first ':'); credentials parse back from the header made of them. The raw input also goes to
// common::decode_base64, against a reference decoder: what decodes encodes and decodes back.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/text.hpp"
#include "http/basic_auth.hpp"
#include "http/bearer_keys.hpp"
#include "tests/fuzz/base64.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace mutex_edge;

namespace {

constexpr std::string_view kSecret = "se:cret";

/// A character's 6 bits in either base64 alphabet, or -1.
int sextet(char c) noexcept {
  constexpr std::string_view kStandard =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (c == '-') {
    return 62;
  }
  if (c == '_') {
    return 63;
  }
  const std::size_t at = kStandard.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

/// Base64 as common::decode_base64 documents it: either alphabet, even mixed; with the padding
/// an encoder writes (`==` after 2 characters of the last group, `=` after 3) or none; refused
/// with any other character, padding elsewhere, or a last group of 1 character. (The unused
/// low bits of a last group are not checked, as by the product.)
std::optional<std::string> reference_decode(std::string_view text) {
  std::size_t padding = 0;
  while (padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  const std::size_t length = text.size() - padding;
  const std::size_t last = length % 4;
  if (!((padding == 0 && last != 1) || (padding == 1 && last == 3) ||
        (padding == 2 && last == 2))) {
    return std::nullopt;
  }
  std::string out;
  std::uint32_t group = 0;
  for (std::size_t i = 0; i < length; ++i) {
    const int bits = sextet(text[i]);
    if (bits < 0) {
      return std::nullopt;
    }
    group = (group << 6) | static_cast<std::uint32_t>(bits);
    if (i % 4 == 3) {
      out += static_cast<char>((group >> 16) & 0xffU);
      out += static_cast<char>((group >> 8) & 0xffU);
      out += static_cast<char>(group & 0xffU);
      group = 0;
    }
  }
  if (last == 2) {
    out += static_cast<char>((group >> 4) & 0xffU);
  } else if (last == 3) {
    out += static_cast<char>((group >> 10) & 0xffU);
    out += static_cast<char>((group >> 2) & 0xffU);
  }
  return out;
}

std::string_view without_blanks(std::string_view s) noexcept {
  const std::size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

bool same_letters(std::string_view a, std::string_view lower) noexcept {
  if (a.size() != lower.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (c != lower[i]) {
      return false;
    }
  }
  return true;
}

using Credentials = std::pair<std::string, std::string>;

/// `Basic <base64(user:password)>`, blanks around the value and the credentials allowed.
std::optional<Credentials> reference_basic(std::string_view header) {
  header = without_blanks(header);
  const std::size_t space = header.find(' ');
  if (space == std::string_view::npos || !same_letters(header.substr(0, space), "basic")) {
    return std::nullopt;
  }
  const std::optional<std::string> decoded =
      reference_decode(without_blanks(header.substr(space + 1)));
  if (!decoded) {
    return std::nullopt;
  }
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::optional<Credentials> parsed(std::string_view header) {
  auto credentials = http::parse_basic(header);
  if (!credentials) {
    return std::nullopt;
  }
  return Credentials{std::move(credentials->user), std::move(credentials->password)};
}

const char* name(http::KeyCheck check) noexcept {
  switch (check) {
    case http::KeyCheck::kOk:
      return "ok";
    case http::KeyCheck::kMissing:
      return "missing";
    case http::KeyCheck::kInvalid:
      return "invalid";
  }
  return "?";
}

void check_base64(std::string_view text) {
  std::string out = "x";  // decode_base64 appends
  const bool decoded = common::decode_base64(text, out);
  const std::optional<std::string> expected = reference_decode(text);
  if (decoded != expected.has_value()) {
    fuzz::fail(decoded ? "decode_base64 takes what is not base64" : "decode_base64 refuses base64",
               text);
  }
  if (!decoded) {
    if (out != "x") {
      fuzz::fail("decode_base64 changes its output when it refuses", text);
    }
    return;
  }
  const std::string bytes = out.substr(1);
  if (bytes != *expected) {
    fuzz::fail("decode_base64 decodes otherwise", text);
  }
  for (const bool url_safe : {false, true}) {
    for (const bool padded : {false, true}) {
      std::string again;
      if (!common::decode_base64(fuzz::base64(bytes, url_safe, padded), again) || again != bytes) {
        fuzz::fail("decoded base64 does not encode and decode back", text);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const http::BasicAuth auth{http::BearerKeys::parse("key-1,key-2"), kSecret};
  const std::string_view header = fuzz::text(data, size);

  const std::optional<Credentials> got = parsed(header);
  if (got != reference_basic(header)) {
    fuzz::fail(got ? "parse_basic reads credentials the reference does not (or others)"
                   : "parse_basic refuses credentials the reference reads",
               header);
  }
  // kMissing: no credentials at all (nothing parsed, or both parts empty); kOk: a listed user
  // and the secret; anything else kInvalid.
  http::KeyCheck expected = http::KeyCheck::kInvalid;
  if (!got || (got->first.empty() && got->second.empty())) {
    expected = http::KeyCheck::kMissing;
  } else if ((got->first == "key-1" || got->first == "key-2") && got->second == kSecret) {
    expected = http::KeyCheck::kOk;
  }
  if (const http::KeyCheck check = auth.check(header); check != expected) {
    fuzz::fail(std::string{"BasicAuth::check says "} + name(check) + ", not " + name(expected),
               header);
  }
  if (got) {
    // The header made of the credentials gives them back (the user has no ':').
    const std::string pair = got->first + ":" + got->second;
    for (const std::string& again : {"Basic " + fuzz::base64(pair, false, true),
                                     "bASIC  " + fuzz::base64(pair, true, false)}) {
      if (parsed(again) != got) {
        fuzz::fail("credentials do not parse back from their header", again);
      }
    }
  }
  check_base64(header);
  return 0;
}
