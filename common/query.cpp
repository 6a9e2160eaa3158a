#include "common/query.hpp"

#include <array>

#include <boost/url/parse_query.hpp>

namespace mutex_edge::common {
namespace {

/// The bytes RFC 3986 allows in a query as they are, less '%' and '+', which decode to others.
constexpr std::array<bool, 256> kLiteral = [] {
  std::array<bool, 256> table{};
  for (const char c : std::string_view{"-._~!$&'()*,;=:@/?"}) {
    table[static_cast<unsigned char>(c)] = true;
  }
  for (std::size_t c = 0; c < table.size(); ++c) {
    table[c] =
        table[c] || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  return table;
}();

bool literal(std::string_view query) noexcept {
  bool all = true;
  for (const char c : query) {
    all &= kLiteral[static_cast<unsigned char>(c)];
  }
  return all;
}

}  // namespace

bool QueryParams::parse(std::string_view query, std::size_t max_params, std::string& error) {
  namespace urls = boost::urls;
  params_.clear();
  if (literal(query)) {
    // Nothing to decode (the common case): the parameters are slices of one copy.
    return split(query, max_params, error);
  }
  query_.assign(query);
  auto parsed = urls::parse_query(query_);
  if (!parsed) {
    error = "the query string is not valid (percent-encode special and non-ASCII characters): " +
            parsed.error().message();
    return false;
  }
  if (parsed->size() > max_params) {
    error = too_many(max_params);
    return false;
  }
  // Decode every key and value into one buffer sized up front, so the views stay valid.
  std::size_t needed = 0;
  for (auto param : *parsed) {
    needed += param.key.decoded_size() + param.value.decoded_size();
  }
  decoded_.clear();
  decoded_.reserve(needed);
  auto decode = [this](urls::pct_string_view text) {
    const std::size_t start = decoded_.size();
    text.decode({true, false, false}, urls::string_token::append_to(decoded_));
    return std::pair{start, decoded_.size() - start};
  };
  const std::string_view all{decoded_.data(), needed};
  for (auto param : *parsed) {
    const auto [key_at, key_size] = decode(param.key);
    const auto [value_at, value_size] = decode(param.value);
    params_.push_back({all.substr(key_at, key_size), all.substr(value_at, value_size)});
  }
  return true;
}

bool QueryParams::split(std::string_view query, std::size_t max_params, std::string& error) {
  decoded_.assign(query);
  std::string_view rest = decoded_;
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view param = rest.substr(0, amp);
    if (params_.size() == max_params) {
      params_.clear();
      error = too_many(max_params);
      return false;
    }
    const std::size_t eq = param.find('=');
    params_.push_back({param.substr(0, eq),
                       eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1)});
    if (amp == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(amp + 1);
    if (rest.empty()) {
      params_.push_back({});  // "a=1&": a last, empty parameter, as Boost.URL counts it
    }
  }
  if (params_.size() > max_params) {
    params_.clear();
    error = too_many(max_params);
    return false;
  }
  return true;
}

std::string QueryParams::too_many(std::size_t max_params) {
  return "at most " + std::to_string(max_params) + " query parameters are allowed";
}

}  // namespace mutex_edge::common
