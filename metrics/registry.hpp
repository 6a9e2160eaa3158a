#pragma once

#include <memory>
#include <string>

#include <prometheus/registry.h>

namespace mutex_edge::metrics {

/// The process's one metric registry. Families are registered at start-up, never per request.
[[nodiscard]] std::shared_ptr<prometheus::Registry> make_registry();

/// The registry's families in Prometheus text exposition format (version 0.0.4).
[[nodiscard]] std::string render_text(const prometheus::Registry& registry);

/// The Content-Type that goes with render_text's output.
inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace mutex_edge::metrics
