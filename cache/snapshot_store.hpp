#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

namespace mutex_edge::cache {

/// Holds the current immutable value (a snapshot) and publishes replacements.
///
/// Readers on the hot path use a `StoreReader`, which keeps its own reference and only looks at
/// a version counter per request: one acquire load, no lock and no shared reference-count
/// traffic. The mutex and one reference-count increment happen once per publish per reader.
/// A replaced value is destroyed when its last reader moves on, through `retire` (e.g. posted to
/// a control thread) so that a worker never pays for destroying a large snapshot.
template <typename T>
class SnapshotStore {
 public:
  using Ptr = std::shared_ptr<const T>;
  using Retire = std::function<void(const T*)>;

  /// `retire` disposes of values no longer referenced; by default they are deleted in place.
  explicit SnapshotStore(Retire retire = {}) : retire_{std::move(retire)} {}
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  /// Makes `next` the current value. Called by one publisher at a time (the control thread).
  void publish(std::unique_ptr<const T> next) {
    Ptr ptr{next.release(), [retire = retire_](const T* p) {
              if (retire) {
                retire(p);
              } else {
                delete p;
              }
            }};
    {
      std::lock_guard lock{mutex_};
      current_.swap(ptr);
    }
    version_.fetch_add(1, std::memory_order_release);
    // The previous value (now in `ptr`) is released here, outside the lock.
  }

  /// The current value, or null before the first publish. Takes the mutex: not for the hot path.
  [[nodiscard]] Ptr load() const {
    std::lock_guard lock{mutex_};
    return current_;
  }

  /// Increases with every publish; 0 before the first.
  [[nodiscard]] std::uint64_t version() const noexcept {
    return version_.load(std::memory_order_acquire);
  }

 private:
  Retire retire_;
  mutable std::mutex mutex_;
  Ptr current_;
  std::atomic<std::uint64_t> version_{0};
};

/// A thread-confined view of a SnapshotStore: one per worker thread.
template <typename T>
class StoreReader {
 public:
  explicit StoreReader(const SnapshotStore<T>& store) noexcept : store_{&store} {}

  /// The current value (null before the first publish). The pointer stays valid until the next
  /// call to get() on this reader.
  [[nodiscard]] const T* get() {
    const std::uint64_t version = store_->version();
    if (version != seen_version_) {
      cached_ = store_->load();
      seen_version_ = version;
    }
    return cached_.get();
  }

 private:
  const SnapshotStore<T>* store_;
  std::uint64_t seen_version_ = 0;
  typename SnapshotStore<T>::Ptr cached_;
};

}  // namespace mutex_edge::cache
