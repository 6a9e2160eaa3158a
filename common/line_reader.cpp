#include "common/line_reader.hpp"

#include <cstring>

namespace mutex_edge::common {

bool LineReader::next(std::string_view& line, bool& too_long) {
  too_long = false;
  for (;;) {
    const char* start = buffer_.data() + begin_;
    const std::size_t pending = end_ - begin_;
    if (const void* nl = std::memchr(start, '\n', pending)) {
      const auto length = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
      begin_ += length + 1;
      if (skipping_) {
        skipping_ = false;
        too_long = true;
        line = {};
        return true;
      }
      line = strip_cr({start, length});
      if (line.size() > max_) {
        too_long = true;
        line = {};
      }
      return true;
    }
    if (eof_) {
      if (pending == 0 && !skipping_) {
        return false;
      }
      begin_ = end_;
      if (skipping_) {
        skipping_ = false;
        too_long = true;
        line = {};
        return true;
      }
      line = strip_cr({start, pending});
      if (line.size() > max_) {
        too_long = true;
        line = {};
      }
      return true;
    }
    if (pending > max_) {  // no end in sight: drop what is held and find the line's end
      skipping_ = true;
      begin_ = end_ = 0;
    } else if (begin_ != 0) {
      std::memmove(buffer_.data(), start, pending);
      begin_ = 0;
      end_ = pending;
    }
    const std::streamsize got =
        in_.sgetn(buffer_.data() + end_, static_cast<std::streamsize>(buffer_.size() - end_));
    if (got <= 0) {
      eof_ = true;
    } else {
      end_ += static_cast<std::size_t>(got);
    }
  }
}

}  // namespace mutex_edge::common
