#include "cache/options.hpp"

#include <cctype>
#include <charconv>

#include <boost/program_options.hpp>

namespace mutex_edge::cache {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::uint64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc{} || ptr == begin) {
    return std::nullopt;
  }
  const std::string_view unit{ptr, static_cast<std::size_t>(end - ptr)};
  std::uint64_t ms_per_unit = 0;
  if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "m") {
    ms_per_unit = 60 * 1000;
  } else if (unit == "h") {
    ms_per_unit = 60 * 60 * 1000;
  } else if (unit.empty() && value == 0) {
    ms_per_unit = 1;
  } else {
    return std::nullopt;
  }
  if (value > std::uint64_t{1} << 40) {
    return std::nullopt;
  }
  return std::chrono::milliseconds{static_cast<std::chrono::milliseconds::rep>(value * ms_per_unit)};
}

bool parse_listen(std::string_view text, std::string& host, std::uint16_t& port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  std::string_view h = text.substr(0, colon);
  std::string_view p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc{} || ptr != p.data() + p.size() || value > 65535) {
    return false;
  }
  host = h.empty() ? "0.0.0.0" : std::string{h};
  port = static_cast<std::uint16_t>(value);
  return true;
}

std::string env_to_option(const boost::program_options::options_description& options,
                          std::string_view prefix, const std::string& variable) {
  if (!std::string_view{variable}.starts_with(prefix)) {
    return {};
  }
  std::string name = variable.substr(prefix.size());
  for (char& c : name) {
    c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return options.find_nothrow(name, false) != nullptr ? name : std::string{};
}

std::string env_name(std::string_view prefix, std::string_view option) {
  std::string name{prefix};
  for (char c : option) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

boost::system::result<void, std::string> parse_flags_and_env(
    int argc, const char* const* argv, const boost::program_options::options_description& options,
    std::string_view prefix, boost::program_options::variables_map& values) {
  namespace po = boost::program_options;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), values);
    po::store(po::parse_environment(options,
                                    [&](const std::string& variable) {
                                      return env_to_option(options, prefix, variable);
                                    }),
              values);
    po::notify(values);
  } catch (const po::error& e) {
    return std::string{e.what()} + " (see --help)";
  }
  return {};
}

std::string env_variables_help(const boost::program_options::options_description& options,
                               std::string_view prefix) {
  std::string help;
  for (const auto& option : options.options()) {
    if (option->long_name() != "help") {
      help += "  " + env_name(prefix, option->long_name()) + "\n";
    }
  }
  return help;
}

}  // namespace mutex_edge::cache
