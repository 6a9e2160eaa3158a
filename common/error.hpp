#pragma once

#include <string>

#include <boost/system/result.hpp>

namespace mutex_edge::common {

/// A failure told as one line for a person: what failed, where, and what to do. The error type
/// of every operation whose only detail is its message (reading a file, parsing flags, opening a
/// database); layers with structured errors (a config problem, an HTTP error code) have their own.
struct Error {
  std::string message;
};

template <typename T>
using Result = boost::system::result<T, Error>;

}  // namespace mutex_edge::common
