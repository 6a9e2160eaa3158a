#include "http/query.hpp"

#include <boost/url/parse_query.hpp>

namespace mutex_edge::http {

bool QueryParams::parse(std::string_view query, std::size_t max_params, std::string& error) {
  namespace urls = boost::urls;
  params_.clear();
  query_.assign(query);
  auto parsed = urls::parse_query(query_);
  if (!parsed) {
    error = "the query string is not valid (percent-encode special and non-ASCII characters): " +
            parsed.error().message();
    return false;
  }
  if (parsed->size() > max_params) {
    error = "at most " + std::to_string(max_params) + " query parameters are allowed";
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

}  // namespace mutex_edge::http
