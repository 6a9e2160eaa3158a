#pragma once

#include <string>
#include <string_view>

#include "http/server.hpp"

// mutex-edge's router, serving the example configuration, for the /assign and /sdk targets.
namespace mutex_edge::fuzz {

/// Answers `request` as a mutex-edge worker does (the router of one worker, with the default
/// settings), then aborts unless the answer is JSON (its payload, the shared body when there is
/// one, gunzipped when it is sent with Content-Encoding: gzip). `input_may_be_bad_utf8`: see
/// check_json.
const http::Response& serve(const http::Request& request, bool input_may_be_bad_utf8);

/// True when `response` is sent with `Content-Encoding: gzip`.
[[nodiscard]] bool gzipped(const http::Response& response);

/// One gzip member decompressed (zlib); aborts unless `data` is exactly one, whole.
[[nodiscard]] std::string gunzip(std::string_view data);

}  // namespace mutex_edge::fuzz
