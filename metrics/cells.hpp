#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace mutex_edge::metrics {

/// One series of a CounterCells family.
using Cell = std::uint32_t;
inline constexpr Cell kNoCell = 0xffffffff;

/// A counter family for the data plane. Each worker thread bumps its own copy of a series with
/// a relaxed load and store (no lock, no contended cache line, no allocation); a scrape sums the
/// copies. Series are created by label values (O(1), any thread) up to `capacity` and kept for
/// the family's life, so counters never go back. The family knows no label values of its own:
/// its users register theirs.
class CounterCells : public prometheus::Collectable {
 public:
  /// `hide_zero`: series that were never bumped are left out of a scrape.
  CounterCells(std::string name, std::string help, std::vector<std::string> label_names,
               std::size_t workers, std::size_t capacity, bool hide_zero = false);
  ~CounterCells() override;
  CounterCells(const CounterCells&) = delete;
  CounterCells& operator=(const CounterCells&) = delete;

  /// The series with `values` (one per label name), created on first use; kNoCell once
  /// `capacity` series exist. A cell handed to a worker must reach it through a release/acquire
  /// pair (a published snapshot, say), as the storage it names is made here.
  [[nodiscard]] Cell cell(std::span<const std::string_view> values);
  /// Series created so far.
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  /// Adds `n` to `cell` on behalf of `worker` (that worker's thread only). kNoCell is ignored.
  void add(std::size_t worker, Cell cell, std::uint64_t n = 1) noexcept {
    if (cell >= capacity_) {
      return;
    }
    std::atomic<std::uint64_t>* chunk =
        shards_[worker]->chunks[cell >> kChunkBits].load(std::memory_order_acquire);
    auto& counter = chunk[cell & (kChunkSize - 1)];
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  /// The sum over workers (for scrapes and tests).
  [[nodiscard]] std::uint64_t total(Cell cell) const noexcept;

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  static constexpr std::size_t kChunkBits = 10;
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;

  struct alignas(64) Shard {
    std::vector<std::atomic<std::atomic<std::uint64_t>*>> chunks;
  };

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::size_t capacity_;
  bool hide_zero_;
  std::vector<std::unique_ptr<Shard>> shards_;

  mutable std::mutex mutex_;  // series creation and scrapes; never taken by add()
  std::unordered_map<std::string, Cell> by_labels_;
  std::vector<std::vector<std::string>> labels_;  // index = Cell
};

/// A histogram family for the data plane, written as CounterCells are: one series per label
/// value given at construction, observed by the worker that owns its shard.
class HistogramCells : public prometheus::Collectable {
 public:
  HistogramCells(std::string name, std::string help, std::string label_name,
                 std::vector<std::string> label_values, std::vector<double> bounds_seconds,
                 std::size_t workers);
  ~HistogramCells() override;
  HistogramCells(const HistogramCells&) = delete;
  HistogramCells& operator=(const HistogramCells&) = delete;

  void observe(std::size_t worker, std::size_t series, std::chrono::nanoseconds value) noexcept;

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  // Per series: one count per bucket, then +Inf, then the sum in nanoseconds.
  struct alignas(64) Shard {
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts;
  };
  [[nodiscard]] std::size_t stride() const noexcept { return bounds_.size() + 2; }

  std::string name_;
  std::string help_;
  std::string label_name_;
  std::vector<std::string> label_values_;
  std::vector<double> bounds_;
  std::vector<std::uint64_t> bounds_ns_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace mutex_edge::metrics
