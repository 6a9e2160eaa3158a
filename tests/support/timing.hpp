#pragma once
// Time limits that hold in every build tree. A sanitizer makes our code several times slower, and
// the test command runs the trees on 2 busy cores, so every threshold a test puts on a measured
// time, and every bounded wait whose end it asserts, goes through scaled().

#include <chrono>
#include <cstdlib>
#include <string>

namespace mutex_edge::testing {

/// How many times longer than in the release tree things may take here:
/// MUTEX_EDGE_TEST_TIME_SCALE (the sanitizer presets set it, for the Node tests too), else 3
/// under AddressSanitizer, 4 under ThreadSanitizer and 1 otherwise.
inline double time_scale() {
  static const double scale = [] {
    if (const char* env = std::getenv("MUTEX_EDGE_TEST_TIME_SCALE"); env != nullptr) {
      const double value = std::atof(env);
      if (value >= 1.0) {
        return value;
      }
    }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return 3.0;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    return 4.0;
#elif __has_feature(address_sanitizer)
    return 3.0;
#else
    return 1.0;
#endif
#else
    return 1.0;
#endif
  }();
  return scale;
}

/// `limit` times time_scale().
template <typename Rep, typename Period>
std::chrono::milliseconds scaled(std::chrono::duration<Rep, Period> limit) {
  const auto ms = std::chrono::duration_cast<std::chrono::duration<double, std::milli>>(limit);
  return std::chrono::milliseconds{static_cast<long long>(ms.count() * time_scale())};
}

/// A duration as our servers' flags take it ("1500ms").
inline std::string flag_value(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + "ms";
}

}  // namespace mutex_edge::testing
