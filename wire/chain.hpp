#pragma once
// The read API's protocol between mutex-edges (GET /api/1/mutexes, docs/http-api.md): the
// headers a watching poller and the instance it watches exchange.

#include <string_view>

namespace mutex_edge::wire {

/// Response headers that only mutex-edge's read API sends (GET /api/1/mutexes), so that a
/// mutex-edge polling another knows what it may ask for and where its configuration came from.
/// The longest `Prefer: wait=N` (seconds) the upstream holds a request for (RFC 7240); a poller
/// sends the wait only after it has seen this header.
inline constexpr std::string_view kWatchHeader = "X-Mutex-Edge-Watch";
/// Unix milliseconds when the chain's first mutex-edge fetched the served configuration from
/// the origin (cache::ChainOrigin::at).
inline constexpr std::string_view kOriginTimeHeader = "X-Mutex-Edge-Origin-Time";
/// The serving instance's chain depth (cache::ChainOrigin::depth).
inline constexpr std::string_view kChainDepthHeader = "X-Mutex-Edge-Chain-Depth";

}  // namespace mutex_edge::wire
