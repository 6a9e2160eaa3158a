#include "tests/support/checks.hpp"

#include <algorithm>
#include <cstddef>

#include <zlib.h>

#include <catch2/catch.hpp>
#include <simdjson.h>

namespace mutex_edge::testing {

double metric(HttpClient& client, const std::string& series) {
  const std::string text = client.get("/metrics").body;
  const auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

std::string status_field(HttpClient& client, const char* name, const char* field) {
  simdjson::dom::parser parser;
  simdjson::dom::element json;
  if (parser.parse(client.get("/status").body).get(json) != simdjson::SUCCESS) {
    return {};
  }
  simdjson::dom::element value = json[name];
  if (field != nullptr) {
    value = value[field];
  }
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) {
    return std::string{text};
  }
  return simdjson::to_string(value);
}

Attempt last_attempt(HttpClient& client) {
  simdjson::dom::parser parser;
  simdjson::dom::element json;
  Attempt attempt;
  std::string_view text;
  if (parser.parse(client.get("/status").body).get(json) != simdjson::SUCCESS) {
    return attempt;
  }
  if (json["lastAttempt"]["result"].get_string().get(text) == simdjson::SUCCESS) {
    attempt.result = text;
  }
  if (json["lastAttempt"]["error"].get_string().get(text) == simdjson::SUCCESS) {
    attempt.error = text;
  }
  return attempt;
}

Load::Load(std::uint16_t port, std::vector<std::pair<std::string, std::string>> headers)
    : thread_{[this, port, headers = std::move(headers)] {
        HttpClient client{port};
        for (int i = 0; !stop_.load(); ++i) {
          try {
            const auto started = std::chrono::steady_clock::now();
            const HttpResponse response =
                client.get("/assign?device_id=" + std::to_string(i), headers);
            latencies_ms_.push_back(std::chrono::duration<double, std::milli>(
                                        std::chrono::steady_clock::now() - started)
                                        .count());
            ++(response.status == 200 ? ok_ : failed_);
          } catch (const std::exception&) {
            ++failed_;  // the connection broke: that counts, and ends the load
            return;
          }
        }
      }} {}

Load::~Load() {
  finish();
}

void Load::finish() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
}

double Load::latency_ms(double q) const {
  if (latencies_ms_.empty()) {
    return 0;
  }
  std::vector<double> sorted = latencies_ms_;
  std::sort(sorted.begin(), sorted.end());
  const auto at = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
  return sorted[at];
}

std::string base64(std::string_view bytes) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t rest = std::min<std::size_t>(3, bytes.size() - i);
    unsigned n = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      n = (n << 8U) | (j < rest ? static_cast<unsigned char>(bytes[i + j]) : 0U);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      out += j <= rest ? kAlphabet[(n >> (18 - 6 * j)) & 63U] : '=';
    }
  }
  return out;
}

std::string gunzip(std::string_view data) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string out;
  std::string chunk(std::size_t{1} << 16, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk.data());
    stream.avail_out = static_cast<uInt>(chunk.size());
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk.data(), chunk.size() - stream.avail_out);
  }
  inflateEnd(&stream);
  REQUIRE(result == Z_STREAM_END);
  return out;
}

}  // namespace mutex_edge::testing
