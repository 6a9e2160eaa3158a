#include "metrics/registry.hpp"

#include <prometheus/text_serializer.h>

namespace mutex_edge::metrics {

std::shared_ptr<prometheus::Registry> make_registry() {
  return std::make_shared<prometheus::Registry>();
}

std::string render_text(const prometheus::Registry& registry) {
  return prometheus::TextSerializer{}.Serialize(registry.Collect());
}

}  // namespace mutex_edge::metrics
