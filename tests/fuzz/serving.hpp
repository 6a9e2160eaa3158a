#pragma once

#include <string_view>

#include "http/server.hpp"

// mutex-edge's router, serving the example configuration, for the /assign targets.
namespace mutex_edge::fuzz {

/// Answers `request` as a mutex-edge worker does (the router of one worker, with the default
/// settings), then aborts unless the answer is JSON. `input_may_be_bad_utf8`: see check_json.
const http::Response& serve(const http::Request& request, bool input_may_be_bad_utf8);

}  // namespace mutex_edge::fuzz
