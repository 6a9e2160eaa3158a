#include "sources/upstream_source.hpp"

#include <charconv>
#include <ctime>
#include <iomanip>
#include <optional>
#include <set>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/url.hpp>

#include "common/text.hpp"
#include "http/client.hpp"

namespace mutex_edge::sources {
namespace {

using cache::ChainOrigin;
using cache::PollOutcome;
using cache::PollReport;

namespace net = boost::asio;
namespace ssl = net::ssl;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
constexpr milliseconds kMaxRetryAfter = std::chrono::minutes{15};

using Target = http::Target;

/// The outcome of fetching the listing, page by page.
struct Fetch {
  PollOutcome outcome = PollOutcome::kUpdated;
  std::string message;
  milliseconds retry_after{0};
  config::ListPage merged;
  std::size_t pages = 0;
  bool watched = false;  // the first page was asked for with a wait
  ChainOrigin origin;    // of the first page
};

/// A header's unsigned number, or nothing when absent or malformed.
std::optional<std::uint64_t> header_number(std::string_view value) {
  value = common::trim(value);
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc{} || ptr != value.data() + value.size()) {
    return std::nullopt;
  }
  return n;
}

/// The longest wait to ask for: the poll interval (so that a 304 confirms the listing as often
/// as a plain poll would), at least a second, at most what the upstream holds.
std::chrono::seconds watch_wait(const UpstreamOptions& options, std::chrono::seconds most) {
  const auto interval = std::chrono::ceil<std::chrono::seconds>(options.interval);
  return std::clamp(interval, std::chrono::seconds{1}, std::max(most, std::chrono::seconds{1}));
}

/// Retry-After: delay-seconds or an HTTP-date.
milliseconds parse_retry_after(std::string_view value) {
  if (value.empty()) {
    return milliseconds{0};
  }
  std::uint64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc{} && ptr == value.data() + value.size()) {
    return std::min<milliseconds>(std::chrono::seconds{std::min<std::uint64_t>(seconds, 86400)},
                                  kMaxRetryAfter);
  }
  std::tm tm{};
  std::istringstream in{std::string{value}};
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
  if (in.fail()) {
    return milliseconds{0};
  }
  const auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  const auto delay =
      std::chrono::duration_cast<milliseconds>(when - std::chrono::system_clock::now());
  return std::clamp(delay, milliseconds{0}, kMaxRetryAfter);
}

std::string describe(const http::ErrorCode& ec, const UpstreamOptions& options,
                     std::string_view during) {
  std::string message = http::describe(ec, during);
  if (http::is_tls_error(ec)) {
    message += options.ca_file.empty()
                   ? " (is the certificate signed by a CA this machine trusts? --ca-file "
                     "names another)"
                   : " (checked against --ca-file " + options.ca_file + ")";
  }
  return message;
}

}  // namespace

struct UpstreamSource::Impl : std::enable_shared_from_this<Impl> {
  net::any_io_executor executor;
  UpstreamOptions options;
  Callbacks callbacks;
  Target target;
  std::string name;
  std::optional<ssl::context> tls;
  net::steady_timer timer;
  std::mt19937_64 rng{std::random_device{}()};
  bool stopped = false;
  unsigned failures = 0;
  std::string etag;  // of the last complete listing, when every page carried the same one
  // The longest wait the upstream advertised on its last first page (wire::kWatchHeader; 0: it is
  // not a mutex-edge, or watches are off there).
  std::chrono::seconds watch_most{0};
  ChainOrigin origin;                      // of the listing last given to `loaded`
  std::function<void()> close_connection;  // set while a connection is open

  Impl(net::any_io_executor ex, UpstreamOptions opts, Callbacks cbs)
      : executor{ex}, options{std::move(opts)}, callbacks{std::move(cbs)}, timer{ex} {}

  net::awaitable<void> run() {
    auto self = shared_from_this();
    while (!stopped) {
      const auto started = Clock::now();
      Fetch fetch = co_await fetch_listing();
      if (stopped) {
        co_return;
      }
      PollReport report{fetch.outcome, Clock::now() - started, fetch.pages};
      if (fetch.outcome == PollOutcome::kUpdated) {
        origin = fetch.origin;
        report.outcome = callbacks.loaded(std::move(fetch.merged), report.took);
        if (!succeeded(report.outcome)) {
          etag.clear();  // a refused listing must not come back as a 304 that confirms it
        }
      } else if (fetch.outcome == PollOutcome::kNotModified) {
        callbacks.not_modified();
      } else {
        callbacks.failed(fetch.outcome, fetch.message);
      }
      failures = succeeded(report.outcome) ? 0 : failures + 1;
      if (callbacks.finished) {
        callbacks.finished(report);
      }
      milliseconds delay = next_delay(options, report.outcome, failures, fetch.retry_after, rng);
      if (!fetch.watched && succeeded(report.outcome) && options.watch &&
          watch_most > std::chrono::seconds{0} && !etag.empty()) {
        delay = milliseconds{10};  // the upstream holds watches: start watching now
      } else if (fetch.watched && report.outcome == PollOutcome::kUpdated) {
        delay = milliseconds{10};  // watch again at once: the next change comes as fast
      } else if (fetch.watched && succeeded(report.outcome)) {
        // A 304 after the wait: ask again at once. One that came early (the upstream drains,
        // or holds no more watches) waits out the rest of the interval, as a plain poll would.
        delay = std::max(milliseconds{10},
                         options.interval - std::chrono::duration_cast<milliseconds>(report.took));
      }
      timer.expires_after(delay);
      co_await timer.async_wait(kNoThrow);
    }
  }

  net::awaitable<Fetch> fetch_listing() {
    http::Connection connection{executor, target, tls ? &*tls : nullptr};
    close_connection = [&connection] { connection.close(); };
    struct CloseOnExit {
      Impl& impl;
      ~CloseOnExit() { impl.close_connection = nullptr; }
    } close_on_exit{*this};
    co_return co_await fetch_on(connection);
  }

  /// A new connection on `connection`; `during` names the step, for a failure.
  net::awaitable<http::ErrorCode> open(http::Connection& connection, std::string& during) {
    using Step = http::Connection::Step;
    Step failed = Step::kConnect;
    const http::ErrorCode ec = co_await connection.open(options.connect_timeout, failed);
    switch (failed) {
      case Step::kServerName:
        during = "setting the TLS server name " + target.host;
        break;
      case Step::kConnect:
        during = "connecting to " + target.host + ":" + target.port;
        break;
      case Step::kHandshake:
        during = "in the TLS handshake with " + target.host;
        break;
    }
    co_return ec;
  }

  std::string page_target(const std::optional<std::string>& cursor) const {
    boost::urls::url url;
    url.set_path(target.base_path + "/api/1/mutexes");
    url.params().append({"limit", std::to_string(options.page_limit)});
    if (cursor) {
      url.params().append({"cursor", *cursor});
    }
    return std::string{url.buffer()};
  }

  net::awaitable<Fetch> fetch_on(http::Connection& connection) {
    Fetch fetch;
    std::optional<std::string> cursor;
    std::set<std::string> seen_cursors;
    std::string first_etag;
    bool same_etag = true;
    std::string during;
    std::size_t listing_bytes = 0;  // the bodies of the pages read so far
    constexpr int kMaxRestarts = 3;
    int restarts = 0;
    bool restarted = false;  // a restart asks for the first page at once, without a wait
    http::Answer response;

    auto fail = [&](PollOutcome outcome, std::string message) {
      fetch.outcome = outcome;
      fetch.message = std::move(message);
      return fetch;
    };

    for (;;) {
      if (fetch.pages == options.max_pages) {
        co_return fail(PollOutcome::kInvalidResponse,
                       "the listing has more than " + std::to_string(options.max_pages) + " pages");
      }
      if (!connection.is_open()) {
        if (auto ec = co_await open(connection, during)) {
          co_return fail(PollOutcome::kNetworkError, describe(ec, options, during));
        }
      }
      if (stopped) {
        co_return fetch;
      }
      const bool first = fetch.pages == 0;
      const bool watch = first && !etag.empty() && options.watch &&
                         watch_most > std::chrono::seconds{0} && !restarted;
      http::Get request{page_target(cursor), {}};
      if (!options.api_key.empty()) {
        request.headers.emplace_back("Authorization", "Bearer " + options.api_key);
      }
      if (first && !etag.empty()) {
        request.headers.emplace_back("If-None-Match", etag);
      }
      std::chrono::seconds wait{0};
      if (watch) {
        wait = watch_wait(options, watch_most);
        request.headers.emplace_back("Prefer", "wait=" + std::to_string(wait.count()));
        fetch.watched = true;
      }
      connection.expires_after(options.request_timeout + wait);  // the timeout follows the wait
      const std::string page_name = "page " + std::to_string(fetch.pages + 1);
      if (const auto write_ec = co_await connection.write(request)) {
        co_return fail(PollOutcome::kNetworkError,
                       describe(write_ec, options, "sending the request for " + page_name));
      }
      // A page may take what is left of the listing's bytes, and at most one document's.
      const std::size_t listing_left = options.max_listing_bytes - listing_bytes;
      const bool listing_caps = listing_left < options.parse.limits.max_document_bytes;
      const auto read_ec = co_await connection.read(
          listing_caps ? listing_left : options.parse.limits.max_document_bytes, response);
      if (http::is_too_large(read_ec)) {
        co_return fail(PollOutcome::kInvalidResponse,
                       listing_caps ? page_name + " takes the listing past --max-upstream-bytes (" +
                                          std::to_string(options.max_listing_bytes) + " bytes)"
                                    : page_name + " is larger than the limit of " +
                                          std::to_string(options.parse.limits.max_document_bytes) +
                                          " bytes (--max-config-bytes)");
      }
      if (read_ec) {
        co_return fail(PollOutcome::kNetworkError,
                       describe(read_ec, options, "reading " + page_name));
      }
      const unsigned status = response.status;
      if (first && (status == 200 || status == 304)) {
        // Watch an upstream that says it holds requests; poll any other.
        const auto most = header_number(response.header(wire::kWatchHeader));
        watch_most = std::chrono::seconds{std::min<std::uint64_t>(most.value_or(0), 3600)};
      }
      if (status == 304 && first && !etag.empty()) {
        fetch.outcome = PollOutcome::kNotModified;
        fetch.pages = 1;
        co_return fetch;
      }
      if (status == 400 && !first && restarts < kMaxRestarts && !first_etag.empty() &&
          !response.header("ETag").empty() && response.header("ETag") != first_etag) {
        // A versioned cursor refused by an upstream whose listing changed between two pages:
        // start again from the first page of the new version.
        ++restarts;
        restarted = true;
        fetch.merged = config::ListPage{};
        fetch.pages = 0;
        cursor.reset();
        seen_cursors.clear();
        first_etag.clear();
        same_etag = true;
        listing_bytes = 0;
        continue;
      }
      if (status != 200) {
        const std::string text = "upstream answered " + std::to_string(status) + " " +
                                 response.reason + " for " + page_name;
        if (status == 401 || status == 403) {
          co_return fail(PollOutcome::kAuthError,
                         text + ": check MUTEX_EDGE_API_KEY (retrying slowly)");
        }
        if (status == 429 || status == 503) {
          fetch.retry_after = parse_retry_after(response.header("Retry-After"));
          co_return fail(PollOutcome::kRateLimited, text);
        }
        co_return fail(PollOutcome::kHttpError, text);
      }
      listing_bytes += response.body.size();
      if (const auto encoding = response.header("Content-Encoding");
          !encoding.empty() && !common::iequals(encoding, "identity")) {
        co_return fail(PollOutcome::kInvalidResponse,
                       page_name + " came with Content-Encoding: " + common::excerpt(encoding) +
                           ", though the request asked for identity");
      }
      auto page = config::parse_list_page(response.body, options.parse);
      if (!page) {
        co_return fail(PollOutcome::kInvalidResponse, page_name + ": " + page.error().to_string());
      }
      ++fetch.pages;
      const std::string page_etag{response.header("ETag")};
      if (first) {
        first_etag = page_etag;
        fetch.origin = ChainOrigin{std::chrono::system_clock::now(), 1};
        const auto origin_ms = header_number(response.header(wire::kOriginTimeHeader));
        const auto depth = header_number(response.header(wire::kChainDepthHeader));
        if (origin_ms && *origin_ms < (std::uint64_t{1} << 53)) {  // another mutex-edge's
          fetch.origin.at = std::chrono::system_clock::time_point{
              std::chrono::milliseconds{static_cast<std::int64_t>(*origin_ms)}};
          fetch.origin.depth =
              static_cast<std::uint32_t>(std::min<std::uint64_t>(depth.value_or(1), 1000)) + 1;
        }
      } else if (page_etag != first_etag) {
        same_etag = false;
      }
      for (config::ConfigError& error : page->rejected) {
        error.group = page_name + " " + error.group;
      }
      std::optional<std::string> next = std::move(page->next_cursor);
      fetch.merged.append(std::move(*page));
      if (fetch.merged.groups.size() + fetch.merged.known.size() >
          options.parse.limits.max_groups) {
        co_return fail(PollOutcome::kInvalidResponse,
                       "the listing has more than " +
                           std::to_string(options.parse.limits.max_groups) +
                           " groups (see --max-groups)");
      }
      if (!next) {
        // A listing whose pages all carry one ETag is versioned as a whole: next time a 304 on
        // the first page means nothing changed.
        etag = same_etag ? first_etag : std::string{};
        co_return fetch;
      }
      if (!seen_cursors.insert(*next).second) {
        co_return fail(PollOutcome::kInvalidResponse,
                       "the listing's nextCursor repeats (\"" + *next + "\")");
      }
      cursor = std::move(next);
    }
  }
};

UpstreamSource::UpstreamSource(std::unique_ptr<Impl> impl) : impl_{std::move(impl)} {}

UpstreamSource::~UpstreamSource() {
  stop();
}

common::Result<std::unique_ptr<UpstreamSource>> UpstreamSource::create(
    net::any_io_executor executor, UpstreamOptions options, Callbacks callbacks) {
  using common::Error;
  auto parsed =
      http::parse_target(options.url, "--upstream", "the key comes from MUTEX_EDGE_API_KEY");
  if (!parsed) {
    return parsed.error();
  }
  const Target& target = *parsed;
  const std::string& scheme = target.scheme;

  auto impl = std::make_unique<Impl>(executor, std::move(options), std::move(callbacks));
  impl->target = target;
  impl->name = "upstream:" + scheme + "://" + target.host + ":" + target.port + target.base_path;
  if (target.tls) {
    if (auto tls = http::make_tls(impl->tls, impl->options.ca_file); !tls) {
      return tls.error();
    }
  }
  return std::unique_ptr<UpstreamSource>{new UpstreamSource{std::move(impl)}};
}

void UpstreamSource::start() {
  impl_->stopped = false;
  net::co_spawn(impl_->executor, impl_->run(), net::detached);
}

void UpstreamSource::stop() {
  impl_->stopped = true;
  impl_->timer.cancel();
  if (impl_->close_connection) {
    impl_->close_connection();
  }
}

const std::string& UpstreamSource::name() const noexcept {
  return impl_->name;
}

ChainOrigin UpstreamSource::origin() const noexcept {
  return impl_->origin;
}

bool UpstreamSource::watching() const noexcept {
  // What the next poll does: watch, once the upstream said it can and a listing is held.
  return impl_->options.watch && impl_->watch_most > std::chrono::seconds{0} &&
         !impl_->etag.empty();
}

milliseconds UpstreamSource::next_delay(const UpstreamOptions& options, PollOutcome outcome,
                                        unsigned failures, milliseconds retry_after,
                                        std::mt19937_64& rng) {
  auto uniform = [&rng](milliseconds low, milliseconds high) {
    if (high <= low) {
      return low;
    }
    std::uniform_int_distribution<milliseconds::rep> pick{low.count(), high.count()};
    return milliseconds{pick(rng)};
  };
  switch (outcome) {
    case PollOutcome::kUpdated:
    case PollOutcome::kUnchanged:
    case PollOutcome::kNotModified:
      return std::max(milliseconds{10}, uniform(options.interval - options.jitter,
                                                options.interval + options.jitter));
    case PollOutcome::kAuthError:
      // A wrong key does not fix itself: ask again slowly, never in a tight loop.
      return std::max(options.backoff_max, options.interval);
    default:
      break;
  }
  // Exponential backoff with jitter: failure_interval * 2^(n-1), capped, drawn from [d/2, d].
  milliseconds delay = options.failure_interval;
  for (unsigned i = 1; i < failures && delay < options.backoff_max; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, options.backoff_max);
  delay = uniform(delay / 2, delay);
  if (outcome == PollOutcome::kRateLimited && retry_after > delay) {
    delay = retry_after;  // the server said when; do not come back sooner
  }
  return std::max(delay, milliseconds{10});
}

}  // namespace mutex_edge::sources
