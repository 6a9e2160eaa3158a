// The HTTP request head and body through the server's own parser (RequestParser, on Beast's
// basic_parser) with the default --max-header-bytes and --max-body-bytes, read as a Session reads
// a connection: a head, then the body unless the head ended the message, then the next
// pipelined request from the same buffer until the connection would close. The parser is
// private to http/server.cpp, so this file compiles that file itself (and so does not link
// mutex_edge::http).
//
// Each input is read twice, in one piece and in small pieces (as a slow client sends it): both
// reads must give the same requests and end the same way (an error answered, or a close).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "http/server.cpp"
#include "tests/fuzz/fuzz_support.hpp"

// This file is built with BOOST_ENABLE_ASSERT_HANDLER: Beast's assertions are checked (as in
// our Debug builds) and end the run, all but one. Boost 1.81's parse_chunk_header asserts that a
// last chunk read again comes with 5 bytes, but when the body's first chunk is the last, "0\r\n"
// and one more byte are 4 (boostorg/beast#2861, fixed in Boost 1.86): past the assertion the
// parser asks for more bytes, as it should. See regressions/http_request/.
namespace boost {

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file,
                          long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr,
               msg != nullptr ? msg : "");
  std::abort();
}

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  const char* const known = "beast/http/impl/basic_parser.ipp";
  const std::size_t length = std::strlen(file);
  if (std::strcmp(expr, "n >= 5") == 0 && length >= std::strlen(known) &&
      std::strcmp(file + length - std::strlen(known), known) == 0) {
    return;
  }
  assertion_failed_msg(expr, nullptr, function, file, line);
}

}  // namespace boost

namespace mutex_edge::http {
namespace {

/// A connection's bytes, delivered at most `chunk` at a time, then end of stream.
class ByteStream {
 public:
  ByteStream(std::span<const std::uint8_t> data, std::size_t chunk) : data_{data}, chunk_{chunk} {}

  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    ec = {};
    if (at_ == data_.size()) {
      ec = net::error::eof;
      return 0;
    }
    const std::size_t n =
        net::buffer_copy(buffers, net::buffer(data_.data() + at_, std::min(chunk_, left())));
    at_ += n;
    return n;
  }
  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) {
      throw beast::system_error{ec};
    }
    return n;
  }

 private:
  std::size_t left() const noexcept { return data_.size() - at_; }

  std::span<const std::uint8_t> data_;
  std::size_t chunk_;
  std::size_t at_ = 0;
};

/// What the handler saw of one request.
struct Seen {
  Method method = Method::kOther;
  std::string target, content_type, if_none_match, authorization, host, expect, accept_encoding,
      body;
  std::vector<std::string> captured;
  bool json = false;
  bool keep_alive = false;
  bool operator==(const Seen&) const = default;
};

struct Connection {
  std::vector<Seen> requests;
  beast::error_code end;  // why reading stopped (none: the last request closed the connection)
  bool answered = false;  // the server answers the error (400, 413, 431) before closing
};

/// Whether Session::on_read_error answers `ec` (the client's fault) or just closes.
bool answers(beast::error_code ec) {
  if (ec == bhttp::error::end_of_stream || ec == net::error::eof) {
    return false;
  }
  return ec == bhttp::error::header_limit || ec == bhttp::error::body_limit ||
         ec.category() == beast::error_code{bhttp::error::end_of_stream}.category() ||
         ec == bhttp::error::partial_message;
}

Connection read_connection(std::span<const std::uint8_t> data, std::size_t chunk) {
  const common::ServerFlags limits;  // the defaults of --max-header-bytes and --max-body-bytes
  // What mutex-edge captures beyond the named fields (its SDK routes' headers).
  static const std::vector<std::string> kCaptured = {"X-Amp-Exp-User", "X-Amp-Exp-Flag-Keys"};
  ByteStream stream{data, chunk};
  beast::flat_buffer buffer;
  RequestHead head;
  std::optional<RequestParser> parser;
  Connection connection;
  for (;;) {
    // As Session::do_read_header, on_read_header and do_read_body.
    parser.emplace(head, limits.max_body_bytes, kCaptured);
    parser->header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser->body_limit(limits.max_body_bytes);
    bhttp::read_header(stream, buffer, *parser, connection.end);
    if (!connection.end && !parser->is_done()) {
      bhttp::read(stream, buffer, *parser, connection.end);
    }
    if (connection.end) {
      connection.answered = answers(connection.end);
      return connection;
    }
    // As Session::handle, and what both binaries' handlers check first.
    connection.requests.push_back(Seen{head.method, head.target, head.content_type,
                                       head.if_none_match, head.authorization, head.host,
                                       head.expect, head.accept_encoding, head.body, head.captured,
                                       is_json(head.content_type), parser->keep_alive()});
    if (!parser->keep_alive()) {
      return connection;
    }
  }
}

/// True when `shorter` stopped at the header limit on a head that `longer` read: Beast checks
/// --max-header-bytes field by field, so a head up to a few hundred bytes over the limit can pass
/// when it arrives in one read and fail when it comes in pieces (or the other way round). The
/// limit still bounds what is buffered either way; the requests before that head must agree.
bool header_limit_boundary(const Connection& shorter, const Connection& longer) {
  return shorter.end == bhttp::error::header_limit &&
         shorter.requests.size() < longer.requests.size() &&
         std::equal(shorter.requests.begin(), shorter.requests.end(), longer.requests.begin());
}

}  // namespace
}  // namespace mutex_edge::http

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mutex_edge;
  const std::span<const std::uint8_t> bytes{data, size};
  const http::Connection whole = http::read_connection(bytes, size + 1);
  const http::Connection pieces = http::read_connection(bytes, 1 + size % 13);
  // Beast may name the error of a malformed head otherwise when it comes in pieces (a bad field
  // or a partial message): the client gets a 400 either way.
  if (http::header_limit_boundary(whole, pieces) || http::header_limit_boundary(pieces, whole)) {
    return 0;
  }
  if (whole.requests != pieces.requests || whole.answered != pieces.answered) {
    fuzz::fail("the requests differ with how the bytes arrive",
               "in one piece: " + std::to_string(whole.requests.size()) + " requests, then " +
                   whole.end.message() + "; in pieces: " + std::to_string(pieces.requests.size()) +
                   " requests, then " + pieces.end.message());
  }
  return 0;
}
