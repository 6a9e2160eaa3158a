#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cache/snapshot.hpp"
#include "config/error.hpp"
#include "config/parser.hpp"

// What mutex-edge does with a parsed configuration, for the targets of the config sources.
namespace mutex_edge::fuzz {

/// The parse options of a served configuration (proxy/serve_command.cpp's parse_options with
/// the default settings): groups `known` recognises (by digest) are not decoded.
[[nodiscard]] config::ParseOptions serving_options(const cache::Snapshot* known);

/// Builds the snapshot as Service::apply does (`previous`: the one served until now), then
/// uses it: every rejection said as the log says it, every group assigned a few users (each
/// answer a slot of the group or none).
[[nodiscard]] std::unique_ptr<const cache::Snapshot> build(
    const config::ListPage& page, std::uint64_t version, const std::string& source,
    std::vector<config::ConfigError>& rejected, const cache::Snapshot* previous);

/// GET /api/1/mutexes of `snapshot` in one page, as the router writes it.
[[nodiscard]] std::string served_listing(const cache::Snapshot& snapshot);

/// Aborts unless what mutex-edge serves of `snapshot` (GET /api/1/mutexes in one page, and each
/// GET /api/1/mutexes/{id}) is what another mutex-edge, or mutex-mgmt, reads back: none rejected,
/// and served again, the same JSON.
void check_served_copy(const cache::Snapshot& snapshot);

}  // namespace mutex_edge::fuzz
