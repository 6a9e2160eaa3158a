#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace mutex_edge::metrics {

/// One counter per label value, all made at startup: `result[i]` counts `values[i]`. The
/// caller's enum, say, gives the values and indexes the result.
[[nodiscard]] std::vector<prometheus::Counter*> counter_series(
    prometheus::Registry& registry, const std::string& name, const std::string& help,
    const std::string& label, std::span<const std::string_view> values);

/// A gauge whose value is read when scraped; no sample while `read` gives nothing.
class CallbackGauge : public prometheus::Collectable {
 public:
  CallbackGauge(std::string name, std::string help, std::function<std::optional<double>()> read)
      : name_{std::move(name)}, help_{std::move(help)}, read_{std::move(read)} {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string name_;
  std::string help_;
  std::function<std::optional<double>()> read_;
};

/// The text exposition (format 0.0.4) of several collectables, e.g. a registry and cells.
[[nodiscard]] std::string render_text(std::span<const prometheus::Collectable* const> sources);

/// The Content-Type that goes with render_text's output.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace mutex_edge::metrics
