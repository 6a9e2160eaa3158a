#include "common/flags.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>
#include <limits>
#include <sstream>
#include <thread>
#include <vector>

#include <unistd.h>

#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>

#include "common/log.hpp"

namespace mutex_edge::common {
namespace {

namespace po = boost::program_options;

/// The option an environment variable stands for: `<PREFIX>FAULT_500_PERCENT` ->
/// `fault-500-percent`; empty for a variable that names no option (so it is ignored).
std::string env_to_option(const po::options_description& options, std::string_view prefix,
                          const std::string& variable) {
  if (!std::string_view{variable}.starts_with(prefix)) {
    return {};
  }
  std::string name = variable.substr(prefix.size());
  for (char& c : name) {
    c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return options.find_nothrow(name, false) != nullptr ? name : std::string{};
}

template <typename Int>
bool parse_int(std::string_view text, Int& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && ptr == text.data() + text.size();
}

bool parse_bool(std::string_view text, bool& out) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") {
    out = true;
  } else if (text == "false" || text == "0" || text == "no" || text == "off") {
    out = false;
  } else {
    return false;
  }
  return true;
}

std::string with_default(const std::string& help, std::string_view default_text) {
  return help + " (default " + std::string{default_text} + ")";
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
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
  return Duration{static_cast<Duration::rep>(value * ms_per_unit)};
}

std::string format_duration(Duration duration) {
  const auto ms = duration.count();
  if (ms == 0) {
    return "0";
  }
  for (auto [unit, size] :
       {std::pair{"h", 3600000LL}, std::pair{"m", 60000LL}, std::pair{"s", 1000LL}}) {
    if (ms % size == 0) {
      return std::to_string(ms / size) + unit;
    }
  }
  return std::to_string(ms) + "ms";
}

bool parse_listen(std::string_view text, std::string& host, std::uint16_t& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  std::string_view h = text.substr(0, colon);
  const std::string_view p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  unsigned value = 0;
  if (!parse_int(p, value) || value > 65535) {
    return false;
  }
  host = h.empty() ? "0.0.0.0" : std::string{h};
  port = static_cast<std::uint16_t>(value);
  return true;
}

std::string env_name(std::string_view prefix, std::string_view option) {
  std::string name{prefix};
  for (char c : option) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

struct Flags::Impl {
  using Convert = std::function<std::optional<std::string>(const std::string& text)>;
  struct Typed {
    std::string name;
    const std::string* text;
    Convert convert;
  };

  std::string prefix;
  po::options_description options;
  po::options_description hidden;  // the positional arguments: parsed, not shown as options
  po::positional_options_description positional;
  po::variables_map values;
  std::deque<std::string> texts;  // stable addresses for program_options to write into
  std::vector<Typed> typed;
  std::vector<std::function<std::optional<std::string>()>> checks;

  Impl(std::string env_prefix, const std::string& caption)
      : prefix{std::move(env_prefix)}, options{caption, 100, 50} {}

  /// A flag read as text, converted after parsing.
  void add(const char* name, const char* value_name, const std::string& help, Convert convert,
           bool implicit_true = false) {
    std::string& text = texts.emplace_back();
    auto* value = po::value(&text)->value_name(value_name);
    if (implicit_true) {
      value->implicit_value("true");
    }
    options.add_options()(name, value, help.c_str());
    typed.push_back({name, &text, std::move(convert)});
  }

  template <typename Int>
  void add_number(const char* name, Int& out, const char* value_name, Int min, Int max,
                  const std::string& help, std::string_view default_text) {
    const std::string shown =
        default_text.empty() ? std::to_string(out) : std::string{default_text};
    add(name, value_name, with_default(help, shown),
        [name = std::string{name}, &out, min,
         max](const std::string& text) -> std::optional<std::string> {
          Int value{};
          if (!parse_int(std::string_view{text}, value) || value < min || value > max) {
            return "--" + name + ": expected an integer from " + std::to_string(min) + " to " +
                   std::to_string(max) + ", got '" + text + "'";
          }
          out = value;
          return std::nullopt;
        });
  }
};

Flags::Flags(std::string prefix, std::string caption)
    : impl_{std::make_unique<Impl>(std::move(prefix), caption)} {
  impl_->options.add_options()("help,h", "print this help and exit");
}

Flags::~Flags() = default;

Flags& Flags::text(const char* name, std::string& out, const char* value_name,
                   const std::string& help) {
  impl_->add(name, value_name, help, [&out](const std::string& text) -> std::optional<std::string> {
    out = text;
    return std::nullopt;
  });
  return *this;
}

Flags& Flags::texts(const char* name, std::vector<std::string>& out, const char* value_name,
                    const std::string& help) {
  impl_->options.add_options()(name, po::value(&out)->value_name(value_name), help.c_str());
  return *this;
}

Flags& Flags::positional(const char* name, std::vector<std::string>& out, const char* value_name,
                         const std::string& help) {
  impl_->hidden.add_options()(name, po::value(&out)->value_name(value_name), help.c_str());
  impl_->positional.add(name, -1);
  return *this;
}

Flags& Flags::duration(const char* name, Duration& out, const std::string& help, Duration min,
                       std::string_view default_text) {
  const std::string shown = default_text.empty() ? format_duration(out) : std::string{default_text};
  impl_->add(
      name, "DURATION", with_default(help, shown),
      [name = std::string{name}, &out, min](const std::string& text) -> std::optional<std::string> {
        auto value = parse_duration(text);
        if (!value) {
          return "--" + name + ": expected a duration such as 500ms, 10s or 1m, got '" + text + "'";
        }
        if (*value < min) {
          return "--" + name + ": must be at least " + format_duration(min) + ", got '" + text +
                 "'";
        }
        out = *value;
        return std::nullopt;
      });
  return *this;
}

Flags& Flags::number(const char* name, std::size_t& out, const char* value_name, std::size_t min,
                     std::size_t max, const std::string& help, std::string_view default_text) {
  impl_->add_number(name, out, value_name, min, max, help, default_text);
  return *this;
}

Flags& Flags::number(const char* name, unsigned& out, const char* value_name, unsigned min,
                     unsigned max, const std::string& help, std::string_view default_text) {
  impl_->add_number(name, out, value_name, min, max, help, default_text);
  return *this;
}

Flags& Flags::boolean(const char* name, bool& out, const std::string& help) {
  impl_->add(
      name, "BOOL", with_default(help, out ? "true" : "false"),
      [name = std::string{name}, &out](const std::string& text) -> std::optional<std::string> {
        if (!parse_bool(text, out)) {
          return "--" + name + ": expected true or false, got '" + text + "'";
        }
        return std::nullopt;
      },
      true);
  return *this;
}

Flags& Flags::listen(const char* name, std::string& host, std::uint16_t& port,
                     const std::string& help) {
  const std::string shown = host + ":" + std::to_string(port);
  impl_->add(name, "HOST:PORT", with_default(help, shown),
             [name = std::string{name}, &host,
              &port](const std::string& text) -> std::optional<std::string> {
               if (!parse_listen(text, host, port)) {
                 return "--" + name + ": expected HOST:PORT, got '" + text + "'";
               }
               return std::nullopt;
             });
  return *this;
}

Flags& Flags::log_level(std::string& out) {
  std::string levels;
  for (std::string_view level : kLogLevels) {
    levels += (levels.empty() ? "" : ", ") + std::string{level};
  }
  impl_->add("log-level", "LEVEL", with_default(levels, out),
             [&out, levels](const std::string& text) -> std::optional<std::string> {
               for (std::string_view level : kLogLevels) {
                 if (text == level) {
                   out = text;
                   return std::nullopt;
                 }
               }
               return "--log-level: expected one of " + levels + ", got '" + text + "'";
             });
  return *this;
}

Flags& Flags::check(std::function<std::optional<std::string>()> rule) {
  impl_->checks.push_back(std::move(rule));
  return *this;
}

Result<bool> Flags::parse(int argc, const char* const* argv) {
  Impl& impl = *impl_;
  impl.values.clear();
  try {
    // Positional arguments only for a command that declares some: the servers' command lines
    // parse as they always have.
    po::options_description all;
    all.add(impl.options).add(impl.hidden);
    po::command_line_parser parser{argc, argv};
    parser.options(all);
    if (impl.positional.max_total_count() != 0) {
      parser.positional(impl.positional);
    }
    po::store(parser.run(), impl.values);
    if (!impl.prefix.empty()) {
      po::store(po::parse_environment(impl.options,
                                      [&](const std::string& variable) {
                                        return env_to_option(impl.options, impl.prefix, variable);
                                      }),
                impl.values);
    }
    po::notify(impl.values);
  } catch (const po::error& e) {
    return Error{std::string{e.what()} + " (see --help)"};
  }
  if (impl.values.count("help") != 0) {
    return false;
  }
  for (const Impl::Typed& flag : impl.typed) {
    if (impl.values.count(flag.name) == 0) {
      continue;
    }
    if (auto error = flag.convert(*flag.text)) {
      return Error{std::move(*error)};
    }
  }
  for (const auto& rule : impl.checks) {
    if (auto error = rule()) {
      return Error{std::move(*error)};
    }
  }
  return true;
}

std::vector<std::string> Flags::unknown_variables(std::span<const std::string_view> known,
                                                  const char* const* environment) const {
  std::vector<std::string> unknown;
  if (impl_->prefix.empty()) {
    return unknown;  // no variable is read at all
  }
  for (const char* const* entry = environment; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text{*entry};
    const std::string variable{text.substr(0, text.find('='))};
    if (!variable.starts_with(impl_->prefix) ||
        std::find(known.begin(), known.end(), variable) != known.end()) {
      continue;
    }
    // Named as parse() reads the environment: whatever it takes for a flag is not unknown.
    if (env_to_option(impl_->options, impl_->prefix, variable).empty()) {
      unknown.push_back(variable);
    }
  }
  return unknown;
}

std::vector<std::string> Flags::unknown_variables(std::span<const std::string_view> known) const {
  return unknown_variables(known, environ);
}

bool Flags::given(const char* name) const {
  return impl_->values.count(name) != 0;
}

std::string Flags::help(std::string_view usage, std::string_view secrets) const {
  std::ostringstream out;
  out << usage << '\n' << impl_->options;
  if (impl_->prefix.empty()) {
    return out.str();
  }
  out << "\nEnvironment variables:\n" << secrets;
  for (const auto& option : impl_->options.options()) {
    if (option->long_name() != "help") {
      out << "  " << env_name(impl_->prefix, option->long_name()) << '\n';
    }
  }
  return out.str();
}

void warn_unknown_variables(std::span<const std::string> names) {
  for (const std::string& name : names) {
    spdlog::warn(
        "msg=\"unknown environment variable ignored: no flag has that name (see --help)\" "
        "variable={}",
        quote(name));
  }
}

void add_server_flags(Flags& flags, ServerFlags& server) {
  flags.listen("listen", server.listen_host, server.listen_port,
               "address to serve HTTP on; port 0 picks a free one");
  flags.number("threads", server.threads, "N", 0, 256, "worker threads serving requests",
               server.threads == 0 ? "0: one per core" : std::string_view{});
  flags.number("max-header-bytes", server.max_header_bytes, "BYTES", 256, 1024 * 1024,
               "largest request head; beyond it 431");
  flags.number("max-body-bytes", server.max_body_bytes, "BYTES", 64, std::size_t{256} << 20,
               "largest request body; beyond it 413");
  flags.number("max-connections", server.max_connections, "N", 1, 1000000,
               "most client connections open at once; more are answered 503 and closed (each "
               "takes a file descriptor: the open-file limit, ulimit -n, is raised to fit up to "
               "its hard limit, and a warning says when it cannot be)");
  flags.duration("idle-timeout", server.idle_timeout,
                 "close a connection that starts no request for this long", Duration{1});
  flags.duration("read-timeout", server.read_timeout,
                 "longest time to read the rest of a request once it has begun (head and "
                 "body), and to write a response; then the connection is closed",
                 Duration{1});
  flags.duration("shutdown-grace", server.shutdown_grace,
                 "on SIGTERM/SIGINT, how long in-flight requests may take before exit");
  flags.check([&server]() -> std::optional<std::string> {
    if (server.threads == 0) {
      server.threads = std::max(1U, std::thread::hardware_concurrency());
    }
    return std::nullopt;
  });
}

}  // namespace mutex_edge::common
