#include "metrics/cells.hpp"

#include <limits>

namespace mutex_edge::metrics {
namespace {

std::string join(std::span<const std::string_view> values) {
  std::string key;
  for (std::string_view v : values) {
    key.append(v);
    key += '\0';
  }
  return key;
}

}  // namespace

CounterCells::CounterCells(std::string name, std::string help, std::vector<std::string> label_names,
                           std::size_t workers, std::size_t capacity, bool hide_zero)
    : name_{std::move(name)},
      help_{std::move(help)},
      label_names_{std::move(label_names)},
      capacity_{std::min<std::size_t>(capacity, kNoCell)},
      hide_zero_{hide_zero} {
  const std::size_t chunks = (capacity_ + kChunkSize - 1) / kChunkSize;
  for (std::size_t w = 0; w < workers; ++w) {
    auto shard = std::make_unique<Shard>();
    shard->chunks = std::vector<std::atomic<std::atomic<std::uint64_t>*>>(chunks);
    shards_.push_back(std::move(shard));
  }
}

CounterCells::~CounterCells() {
  for (auto& shard : shards_) {
    for (auto& chunk : shard->chunks) {
      delete[] chunk.load(std::memory_order_relaxed);
    }
  }
}

Cell CounterCells::cell(std::span<const std::string_view> values) {
  std::string key = join(values);
  std::lock_guard lock{mutex_};
  if (auto it = by_labels_.find(key); it != by_labels_.end()) {
    return it->second;
  }
  if (labels_.size() >= capacity_) {
    return kNoCell;
  }
  const auto cell = static_cast<Cell>(labels_.size());
  if ((cell & (kChunkSize - 1)) == 0) {
    // The first series of a chunk: make that chunk for every worker, zeroed, before any worker
    // can be given the cell.
    for (auto& shard : shards_) {
      shard->chunks[cell >> kChunkBits].store(new std::atomic<std::uint64_t>[kChunkSize](),
                                              std::memory_order_release);
    }
  }
  labels_.emplace_back(values.begin(), values.end());
  by_labels_.emplace(std::move(key), cell);
  return cell;
}

std::size_t CounterCells::size() const {
  std::lock_guard lock{mutex_};
  return labels_.size();
}

std::uint64_t CounterCells::total(Cell cell) const noexcept {
  std::uint64_t sum = 0;
  for (const auto& shard : shards_) {
    const auto* chunk = shard->chunks[cell >> kChunkBits].load(std::memory_order_acquire);
    if (chunk != nullptr) {
      sum += chunk[cell & (kChunkSize - 1)].load(std::memory_order_relaxed);
    }
  }
  return sum;
}

std::vector<prometheus::MetricFamily> CounterCells::Collect() const {
  prometheus::MetricFamily family{name_, help_, prometheus::MetricType::Counter, {}};
  std::lock_guard lock{mutex_};
  family.metric.reserve(labels_.size());
  for (std::size_t cell = 0; cell < labels_.size(); ++cell) {
    const std::uint64_t value = total(static_cast<Cell>(cell));
    if (hide_zero_ && value == 0) {
      continue;
    }
    prometheus::ClientMetric& metric = family.metric.emplace_back();
    for (std::size_t l = 0; l < label_names_.size(); ++l) {
      metric.label.push_back({label_names_[l], labels_[cell][l]});
    }
    metric.counter.value = static_cast<double>(value);
  }
  std::vector<prometheus::MetricFamily> out;
  out.push_back(std::move(family));
  return out;
}

HistogramCells::HistogramCells(std::string name, std::string help, std::string label_name,
                               std::vector<std::string> label_values,
                               std::vector<double> bounds_seconds, std::size_t workers)
    : name_{std::move(name)},
      help_{std::move(help)},
      label_name_{std::move(label_name)},
      label_values_{std::move(label_values)},
      bounds_{std::move(bounds_seconds)} {
  for (double bound : bounds_) {
    bounds_ns_.push_back(static_cast<std::uint64_t>(bound * 1e9 + 0.5));
  }
  for (std::size_t w = 0; w < workers; ++w) {
    auto shard = std::make_unique<Shard>();
    shard->counts = std::make_unique<std::atomic<std::uint64_t>[]>(label_values_.size() * stride());
    shards_.push_back(std::move(shard));
  }
}

HistogramCells::~HistogramCells() = default;

void HistogramCells::observe(std::size_t worker, std::size_t series,
                             std::chrono::nanoseconds value) noexcept {
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(value.count(), 0));
  std::size_t bucket = 0;
  while (bucket < bounds_ns_.size() && ns > bounds_ns_[bucket]) {
    ++bucket;
  }
  auto* counts = &shards_[worker]->counts[series * stride()];
  auto bump = [](std::atomic<std::uint64_t>& c, std::uint64_t by) {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  };
  bump(counts[bucket], 1);
  bump(counts[bounds_.size() + 1], ns);
}

std::vector<prometheus::MetricFamily> HistogramCells::Collect() const {
  prometheus::MetricFamily family{name_, help_, prometheus::MetricType::Histogram, {}};
  for (std::size_t s = 0; s < label_values_.size(); ++s) {
    prometheus::ClientMetric metric;
    metric.label = {{label_name_, label_values_[s]}};
    std::uint64_t cumulative = 0;
    std::uint64_t sum_ns = 0;
    for (std::size_t b = 0; b <= bounds_.size(); ++b) {
      for (const auto& shard : shards_) {
        cumulative += shard->counts[s * stride() + b].load(std::memory_order_relaxed);
      }
      metric.histogram.bucket.push_back(
          {cumulative, b < bounds_.size() ? bounds_[b] : std::numeric_limits<double>::infinity()});
    }
    if (cumulative == 0) {
      continue;
    }
    for (const auto& shard : shards_) {
      sum_ns += shard->counts[s * stride() + bounds_.size() + 1].load(std::memory_order_relaxed);
    }
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = static_cast<double>(sum_ns) / 1e9;
    family.metric.push_back(std::move(metric));
  }
  std::vector<prometheus::MetricFamily> out;
  out.push_back(std::move(family));
  return out;
}

}  // namespace mutex_edge::metrics
