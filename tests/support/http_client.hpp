#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mutex_edge::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  [[nodiscard]] std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

/// A blocking HTTP/1.1 client on one keep-alive connection to 127.0.0.1:port, with a timeout
/// on every operation. For tests only.
class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse get(const std::string& target,
                   const std::vector<std::pair<std::string, std::string>>& headers = {});
  HttpResponse post(const std::string& target, const std::string& body,
                    const std::string& content_type = "application/json");
  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& headers);

  /// Writes raw bytes as they are (pipelining, malformed requests).
  void send_raw(const std::string& bytes);
  /// Reads one response (after send_raw); `head`: the answer to a HEAD request (no body).
  HttpResponse read_response(bool head = false);
  /// True once the server closed the connection (reads return end of stream).
  bool closed_by_peer();

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace mutex_edge::testing
