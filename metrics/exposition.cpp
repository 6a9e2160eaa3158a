#include "metrics/exposition.hpp"

#include <iterator>

#include <prometheus/family.h>
#include <prometheus/text_serializer.h>

namespace mutex_edge::metrics {

std::vector<prometheus::Counter*> counter_series(prometheus::Registry& registry,
                                                 const std::string& name, const std::string& help,
                                                 const std::string& label,
                                                 std::span<const std::string_view> values) {
  auto& family = prometheus::BuildCounter().Name(name).Help(help).Register(registry);
  std::vector<prometheus::Counter*> series;
  series.reserve(values.size());
  for (std::string_view value : values) {
    series.push_back(&family.Add({{label, std::string{value}}}));
  }
  return series;
}

std::vector<prometheus::MetricFamily> CallbackGauge::Collect() const {
  prometheus::MetricFamily family{name_, help_, prometheus::MetricType::Gauge, {}};
  if (auto value = read_()) {
    family.metric.emplace_back().gauge.value = *value;
  }
  std::vector<prometheus::MetricFamily> out;
  out.push_back(std::move(family));
  return out;
}

std::string render_text(std::span<const prometheus::Collectable* const> sources) {
  std::vector<prometheus::MetricFamily> families;
  for (const prometheus::Collectable* source : sources) {
    auto collected = source->Collect();
    std::move(collected.begin(), collected.end(), std::back_inserter(families));
  }
  return prometheus::TextSerializer{}.Serialize(families);
}

}  // namespace mutex_edge::metrics
