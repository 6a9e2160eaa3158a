#include "common/text.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/file.hpp"
#include "common/json_writer.hpp"
#include "common/log.hpp"
#include "common/time.hpp"

using namespace mutex_edge::common;

TEST_CASE("the JSON escaper escapes quotes, backslashes and every control character",
          "[common][json]") {
  std::string out;
  JsonWriter::append_string(out, std::string{"a\"b\\c\n\r\t\x01\x1f\x7f d\xc3\xa9", 15});
  CHECK(out == "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\x7f d\xc3\xa9\"");
}

TEST_CASE("the escaper finds a byte to escape at every position of every length",
          "[common][json]") {
  // The check reads eight bytes at a time and pads the rest: every offset of each kind of byte.
  for (std::size_t length = 0; length <= 24; ++length) {
    const std::string clean(length, 'x');
    std::string out;
    JsonWriter::append_string(out, clean);
    CHECK(out == "\"" + clean + "\"");
    CHECK(JsonWriter::plain(clean));
    for (std::size_t at = 0; at < length; ++at) {
      for (const char bad : {'"', '\\', '\x00', '\x1f', '\n'}) {
        std::string text = clean;
        text[at] = bad;
        CHECK_FALSE(JsonWriter::plain(text));
      }
      for (const char fine : {' ', '\x7f', '\x80', '\xff', '~', '!', '#'}) {
        std::string text = clean;
        text[at] = fine;
        CHECK(JsonWriter::plain(text));
      }
    }
  }
  std::string out;
  JsonWriter{out}.begin_object().key("a\"b").value("c").key("d").value("\"").end_object();
  CHECK(out == R"({"a\"b":"c","d":"\""})");
}

TEST_CASE("a value written in place takes its comma and only the bytes it used", "[common][json]") {
  std::string out;
  JsonWriter w{out};
  w.begin_array().value(1);
  w.value_in_place(64, [](char* at) {
    at = JsonWriter::put(at, "{\"k\":");
    at = JsonWriter::put_string(at, "tab\there");
    at = JsonWriter::put(at, ",\"n\":");
    at = JsonWriter::put(at, std::int64_t{-42});
    return JsonWriter::put(at, "}");
  });
  w.value(2).end_array();
  CHECK(out == R"([1,{"k":"tab\there","n":-42},2])");
}

TEST_CASE("the JSON writer places commas and writes numbers and literals", "[common][json]") {
  std::string out;
  JsonWriter w{out};
  w.begin_object().key("a").value(1).key("b").begin_array().value(true).null().value("x");
  w.end_array().key("c").begin_object().end_object().key("d").raw("[1]").end_object();
  CHECK(out == R"({"a":1,"b":[true,null,"x"],"c":{},"d":[1]})");
  std::string negative;
  JsonWriter{negative}.value(std::int64_t{-9007199254740993});
  CHECK(negative == "-9007199254740993");
}

TEST_CASE("doubles are written in their shortest round-trip form, never as NaN or infinity",
          "[common][json]") {
  auto written = [](double d) {
    std::string out;
    JsonWriter{out}.value(d);
    return out;
  };
  CHECK(written(0.1) == "0.1");
  CHECK(written(0.1 + 0.2) == "0.30000000000000004");
  CHECK(written(-1.25) == "-1.25");
  CHECK(written(2.0) == "2");
  CHECK(written(0.0) == "0");
  CHECK(written(-0.0) == "-0");
  CHECK(written(123456.789) == "123456.789");
  CHECK(written(1e21) == "1e+21");
  CHECK(written(1e-7) == "1e-07");
  CHECK(written(std::numeric_limits<double>::max()) == "1.7976931348623157e+308");
  CHECK(written(std::numeric_limits<double>::denorm_min()) == "5e-324");
  CHECK(written(static_cast<double>(0.1F)) == "0.10000000149011612");
  // JSON has neither: null, a value every reader takes.
  CHECK(written(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(written(-std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(written(std::numeric_limits<double>::infinity()) == "null");
  CHECK(written(-std::numeric_limits<double>::infinity()) == "null");

  // Every form reads back to the same double.
  for (const double d : {0.1, 1.0 / 3, 2.0 / 3 * 1e300, 4.9e-324, 1e16, 9007199254740993.0,
                         -123.456e-89, 1e21, 1e22}) {
    const std::string text = written(d);
    double back = 0;
    const auto read = std::from_chars(text.data(), text.data() + text.size(), back);
    CHECK(read.ec == std::errc{});
    CHECK(read.ptr == text.data() + text.size());
    CHECK(back == d);
  }

  std::string out;
  JsonWriter w{out};
  w.begin_object().key("a").value(0.5).key("b").value(std::nan("")).key("c");
  w.begin_array().value(1e100).value(-std::numeric_limits<double>::infinity()).end_array();
  w.end_object();
  CHECK(out == R"({"a":0.5,"b":null,"c":[1e+100,null]})");
}

TEST_CASE("log values are bare when safe, otherwise JSON strings", "[common][log]") {
  CHECK(quote("plain") == "plain");
  CHECK(quote("") == "\"\"");
  CHECK(quote("two words") == "\"two words\"");
  CHECK(quote("k=v") == "\"k=v\"");
  CHECK(quote("line\nbreak\ttab") == "\"line\\nbreak\\ttab\"");
}

TEST_CASE("text helpers: excerpt, trim, iequals and lists", "[common][text]") {
  CHECK(excerpt("abc") == "\"abc\"");
  CHECK(excerpt(std::string(70, 'x'), 64) == "\"" + std::string(64, 'x') + "...\"");
  // A cut never splits a UTF-8 sequence (the message would not be valid UTF-8, nor its JSON).
  CHECK(excerpt("a\xc3\xa9z", 2) == "\"a...\"");
  CHECK(excerpt("a\xc3\xa9z", 3) == "\"a\xc3\xa9...\"");
  CHECK(excerpt("\xe6\x97\xa5\xe6\x9c\xac", 5) == "\"\xe6\x97\xa5...\"");
  CHECK(excerpt("\xf0\x9f\x8e\x89!", 3) == "\"...\"");
  // Control characters are escaped: a message quoting a value stays on one line.
  CHECK(excerpt("a\nb\r\tc\x01\x7f") == "\"a\\nb\\r\\tc\\x01\\x7f\"");
  CHECK(trim(" \t a b \t") == "a b");
  CHECK(iequals("Bearer", "bEARER"));
  CHECK_FALSE(iequals("Bearer", "Bearer "));
  std::vector<std::string> items;
  for_each_item(",a,,b c,", ',', [&](std::string_view item) { items.emplace_back(item); });
  CHECK(items == std::vector<std::string>{"a", "b c"});
}

TEST_CASE("files are read up to a limit and replaced atomically", "[common][file]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("common-file-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto path = dir / "sub" / "state.json";
  REQUIRE(write_file_atomically(path, "first").has_value());
  REQUIRE(write_file_atomically(path, "second, longer").has_value());
  CHECK(*read_file(path, 100) == "second, longer");
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  auto too_large = read_file(path, 5);
  REQUIRE_FALSE(too_large.has_value());
  CHECK_THAT(too_large.error().message, Catch::Contains("larger than the limit of 5 bytes"));
  auto missing = read_file(dir / "none", 100);
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error().message, Catch::Contains("cannot open") && Catch::Contains("none"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a file of unknown size (a pipe) is read whole, with its padding spare",
          "[common][file]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("common-fifo-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto path = dir / "pipe";
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  std::string sent;
  for (int i = 0; sent.size() < 300'000; ++i) {
    sent += std::to_string(i) + ',';
  }
  std::signal(SIGPIPE, SIG_IGN);  // a reader closing early fails the checks below instead
  std::thread writer{[&] {
    // Gives up after 10 s without progress, so that a reader stopping early fails, not hangs.
    const int fd = ::open(path.c_str(), O_WRONLY);
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    std::size_t written = 0;
    pollfd ready{fd, POLLOUT, 0};
    while (written < sent.size() && ::poll(&ready, 1, 10'000) == 1) {
      const ssize_t n = ::write(fd, sent.data() + written, sent.size() - written);
      if (n < 0 && errno != EAGAIN) {
        break;  // the reader closed the pipe early
      }
      written += n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    ::close(fd);
  }};
  auto read = read_file(path, 1'000'000, 64);
  writer.join();
  REQUIRE(read.has_value());
  CHECK(read->size() == sent.size());
  CHECK(read->compare(sent) == 0);  // not printed whole on failure
  CHECK(read->capacity() >= read->size() + 64);
  std::filesystem::remove_all(dir);
}

TEST_CASE("base64 decodes both alphabets, padded or not, and refuses anything else",
          "[common][base64]") {
  // Every length 0..40 of bytes 0..255, through OpenSSL-independent reference encoding.
  constexpr std::string_view kStandard =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  for (int n = 0; n < 40; ++n) {
    bytes += static_cast<char>((n * 97 + 251) & 0xff);  // every byte value class, 0xfb first
    std::string padded;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
      const std::size_t left = std::min<std::size_t>(3, bytes.size() - i);
      std::uint32_t v = 0;
      for (std::size_t k = 0; k < 3; ++k) {
        v = (v << 8) | (k < left ? static_cast<unsigned char>(bytes[i + k]) : 0U);
      }
      for (std::size_t k = 0; k < 4; ++k) {
        padded += k <= left ? kStandard[(v >> (18 - 6 * k)) & 63] : '=';
      }
    }
    std::string url = padded;
    std::replace(url.begin(), url.end(), '+', '-');
    std::replace(url.begin(), url.end(), '/', '_');
    const std::string unpadded = url.substr(0, url.find('='));
    for (const std::string& text : {padded, url, unpadded}) {
      std::string out = "kept:";
      REQUIRE(mutex_edge::common::decode_base64(text, out));
      CHECK(out == "kept:" + bytes);
    }
  }
  std::string out = "as it was";
  for (std::string_view bad : {"a", "abcde", "ab=c", "a===", "ab c", "ab\ncd", "ab*d", "=abc"}) {
    INFO(bad);
    CHECK_FALSE(mutex_edge::common::decode_base64(bad, out));
    CHECK(out == "as it was");
  }
}

TEST_CASE("content hashes print as 16 hex digits and ETags quote them", "[common][text]") {
  CHECK(hex64(0).view() == "0000000000000000");
  CHECK(hex64(0x0123456789abcdefULL).view() == "0123456789abcdef");
  CHECK(hex64(~std::uint64_t{0}).view() == "ffffffffffffffff");
  CHECK(content_etag(0xabcULL) == "\"0000000000000abc\"");
  CHECK(content_etag(0xabcULL, "flags") == "\"0000000000000abc-flags\"");
}

TEST_CASE("times print as UTC with milliseconds, the epoch as never", "[common][time]") {
  using std::chrono::milliseconds;
  const std::chrono::system_clock::time_point t{milliseconds{1767225600123}};
  CHECK(iso8601(t) == "2026-01-01T00:00:00.123Z");
  CHECK(unix_ms(t) == 1767225600123);
  CHECK(iso8601({}).empty());
  CHECK(now_unix_ms() > 1767225600123);
}
