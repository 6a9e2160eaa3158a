// Amplitude's remote evaluation, /sdk/v2/vardata, through mutex-edge's router. The input is
// `<user JSON>\n<flag-keys JSON>`: the user goes base64-encoded in X-Amp-Exp-User on a GET (the
// alphabet and the padding chosen by the low bits of the first byte) and as the JSON body of a
// POST, the keys base64-encoded in X-Amp-Exp-Flag-Keys on both; the two must answer alike, and
// a 200 names only served groups (only the ones asked for, when keys are given). A third GET
// passes the two parts as the header values themselves, for the base64 decoder.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "api/router.hpp"

#include <simdjson.h>

#include "tests/fuzz/base64.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/serving.hpp"

using namespace mutex_edge;

namespace {

namespace dom = simdjson::dom;

/// The keys of the served groups.
const std::set<std::string, std::less<>>& served_keys() {
  static const std::set<std::string, std::less<>> keys = [] {
    std::set<std::string, std::less<>> out;
    const config::ListPage page = fuzz::serving_page();
    for (const config::GroupConfig& group : page.groups) {
      out.insert(group.key);
    }
    return out;
  }();
  return keys;
}

/// The flag keys a 200 may answer: the strings of `keys` (a JSON array of strings), every
/// served key when `keys` is empty. Aborts when `keys` is not such an array.
std::set<std::string, std::less<>> asked(std::string_view keys, std::string_view input) {
  if (keys.empty()) {
    return served_keys();
  }
  static dom::parser parser;
  dom::array array;
  if (parser.parse(keys.data(), keys.size()).get_array().get(array) != simdjson::SUCCESS) {
    fuzz::fail("a 200 for X-Amp-Exp-Flag-Keys that are not a JSON array", input);
  }
  std::set<std::string, std::less<>> out;
  for (dom::element key : array) {
    std::string_view text;
    if (key.get_string().get(text) != simdjson::SUCCESS) {
      fuzz::fail("a 200 for X-Amp-Exp-Flag-Keys that are not all strings", input);
    }
    out.emplace(text);
  }
  return out;
}

/// Aborts unless every top-level key of the answer `body` is served and asked for.
void check_variants(const std::string& body, std::string_view keys, std::string_view input) {
  const std::set<std::string, std::less<>> allowed = asked(keys, input);
  static dom::parser parser;
  dom::object answer;
  if (parser.parse(body).get_object().get(answer) != simdjson::SUCCESS) {
    fuzz::fail("a 200 of /sdk/v2/vardata that is not a JSON object", body);
  }
  for (const dom::key_value_pair field : answer) {
    if (!served_keys().contains(field.key)) {
      fuzz::fail("/sdk/v2/vardata answers a group that is not served", body);
    }
    if (!allowed.contains(field.key)) {
      fuzz::fail("/sdk/v2/vardata answers a flag that was not asked for", body);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::text(data, size);
  const std::size_t newline = input.find('\n');
  const std::string_view user = input.substr(0, newline);
  const std::string_view keys =
      newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
  const bool url_safe = size != 0 && (data[0] & 1U) != 0;
  const bool padded = size != 0 && (data[0] & 2U) != 0;
  const bool bad_utf8 = !fuzz::valid_utf8(input);

  static std::array<std::string, 3> captured;
  captured[api::kAmpUserHeader] = fuzz::base64(user, url_safe, padded);
  captured[api::kAmpFlagKeysHeader] = fuzz::base64(keys, url_safe, padded);
  captured[api::kPreferHeader].clear();
  const http::Response& got = fuzz::serve(
      http::Request{
          .method = http::Method::kGet, .target = "/sdk/v2/vardata", .captured = captured},
      bad_utf8);
  const int get_status = got.status;
  const std::string get_body{got.payload()};

  captured[api::kAmpUserHeader].clear();
  const http::Response& posted = fuzz::serve(http::Request{.method = http::Method::kPost,
                                                           .target = "/sdk/v2/vardata",
                                                           .content_type = "application/json",
                                                           .body = user,
                                                           .captured = captured},
                                             bad_utf8);
  if (posted.status != get_status || posted.payload() != get_body) {
    fuzz::fail("the user in X-Amp-Exp-User and in a POST body are answered otherwise",
               std::to_string(get_status) + " " + get_body + "\n" + std::to_string(posted.status) +
                   " " + std::string{posted.payload()});
  }
  if (get_status == 200) {
    check_variants(get_body, keys, input);
  }

  // The two parts as the header values themselves: mostly not base64.
  captured[api::kAmpUserHeader] = user;
  captured[api::kAmpFlagKeysHeader] = keys;
  (void)fuzz::serve(
      http::Request{
          .method = http::Method::kGet, .target = "/sdk/v2/vardata", .captured = captured},
      true);
  return 0;
}
