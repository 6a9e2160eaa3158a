#pragma once

#include <mutex>
#include <random>

#include "mgmt/settings.hpp"

namespace mutex_edge::mgmt {

enum class Fault : unsigned char { kNone, kDrop, kError500, kError429, kTruncate };

/// Decides which read requests get an injected upstream fault. One uniform draw per request
/// from an RNG seeded with --fault-seed: the shares are disjoint, so each flag's share of reads
/// is what it says (runs with the same seed and request order draw the same faults).
class FaultInjector {
 public:
  explicit FaultInjector(const FaultSettings& settings)
      : settings_{settings}, rng_{settings.seed} {}

  [[nodiscard]] const FaultSettings& settings() const noexcept { return settings_; }

  /// The fault for the next read request. Thread-safe.
  [[nodiscard]] Fault draw() {
    const unsigned total = settings_.drop_percent + settings_.error_500_percent +
                           settings_.error_429_percent + settings_.truncate_percent;
    if (total == 0) {
      return Fault::kNone;
    }
    unsigned roll = 0;
    {
      std::lock_guard lock{mutex_};
      roll = std::uniform_int_distribution<unsigned>{0, 99}(rng_);
    }
    for (auto [share, fault] : {std::pair{settings_.drop_percent, Fault::kDrop},
                                std::pair{settings_.error_500_percent, Fault::kError500},
                                std::pair{settings_.error_429_percent, Fault::kError429},
                                std::pair{settings_.truncate_percent, Fault::kTruncate}}) {
      if (roll < share) {
        return fault;
      }
      roll -= share;
    }
    return Fault::kNone;
  }

 private:
  const FaultSettings settings_;
  std::mutex mutex_;
  std::mt19937_64 rng_;
};

}  // namespace mutex_edge::mgmt
