#include "metrics/cells.hpp"

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "metrics/exposition.hpp"

using namespace mutex_edge::metrics;

namespace {

std::string render(const prometheus::Collectable& c) {
  const std::array<const prometheus::Collectable*, 1> sources = {&c};
  return render_text(sources);
}

Cell cell(CounterCells& cells, std::string_view a, std::string_view b) {
  const std::array<std::string_view, 2> labels = {a, b};
  return cells.cell(labels);
}

}  // namespace

TEST_CASE("counter cells are made once per label set and summed over workers", "[metrics][cells]") {
  CounterCells cells{"test_total", "help", {"group", "slot"}, 2, 4000};
  const Cell a = cell(cells, "g", "slot-1");
  const Cell b = cell(cells, "g", "slot-2");
  CHECK(a != b);
  CHECK(cell(cells, "g", "slot-1") == a);  // the same labels, the same cell
  CHECK(cells.size() == 2);
  cells.add(0, a, 3);
  cells.add(1, a, 4);
  cells.add(1, b);
  cells.add(0, kNoCell);  // ignored
  CHECK(cells.total(a) == 7);
  CHECK(cells.total(b) == 1);
  const std::string text = render(cells);
  CHECK_THAT(text, Catch::Contains(R"(test_total{group="g",slot="slot-1"} 7)"));
  CHECK_THAT(text, Catch::Contains(R"(test_total{group="g",slot="slot-2"} 1)"));
}

TEST_CASE("counter cells stop at their capacity and can hide series never bumped",
          "[metrics][cells]") {
  CounterCells cells{"capped_total", "help", {"k", "v"}, 1, 1500, true};
  for (int i = 0; i < 1500; ++i) {
    REQUIRE(cell(cells, "k", std::to_string(i)) != kNoCell);  // crosses a chunk boundary
  }
  CHECK(cell(cells, "k", "one more") == kNoCell);
  CHECK(cell(cells, "k", "7") == 7);
  cells.add(0, 1499);
  const std::string text = render(cells);
  CHECK_THAT(text, Catch::Contains(R"(capped_total{k="k",v="1499"} 1)"));
  CHECK(text.find(R"(v="7")") == std::string::npos);
}

TEST_CASE("histogram cells bucket nanoseconds into cumulative second buckets", "[metrics][cells]") {
  HistogramCells latency{"t_seconds", "help", "route", {"/a", "/b"}, {0.001, 0.01}, 2};
  latency.observe(0, 0, std::chrono::microseconds{500});
  latency.observe(1, 0, std::chrono::milliseconds{5});
  latency.observe(1, 0, std::chrono::seconds{1});
  const std::string text = render(latency);
  CHECK_THAT(text, Catch::Contains(R"(t_seconds_bucket{route="/a",le="0.001"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(t_seconds_bucket{route="/a",le="0.01"} 2)"));
  CHECK_THAT(text, Catch::Contains(R"(t_seconds_bucket{route="/a",le="+Inf"} 3)"));
  CHECK_THAT(text, Catch::Contains(R"(t_seconds_count{route="/a"} 3)"));
  CHECK(text.find(R"(route="/b")") == std::string::npos);  // never observed
}

TEST_CASE("callback gauges and counter series", "[metrics][exposition]") {
  double value = 2.5;
  bool has = false;
  CallbackGauge gauge{"g_seconds", "help", [&]() -> std::optional<double> {
                        return has ? std::optional{value} : std::nullopt;
                      }};
  CHECK(render(gauge).find("\ng_seconds ") == std::string::npos);
  has = true;
  CHECK_THAT(render(gauge), Catch::Contains("g_seconds 2.5"));

  prometheus::Registry registry;
  const std::array<std::string_view, 2> values = {"ok", "failed"};
  auto series = counter_series(registry, "c_total", "help", "outcome", values);
  REQUIRE(series.size() == 2);
  series[1]->Increment();
  CHECK_THAT(render(registry), Catch::Contains(R"(c_total{outcome="failed"} 1)"));
}

TEST_CASE("workers bump their cells while series are made and scraped",
          "[metrics][cells][concurrency]") {
  constexpr std::size_t kWorkers = 3;
  constexpr int kBumps = 20000;
  CounterCells cells{"race_total", "help", {"k", "v"}, kWorkers, 4096};
  const Cell shared = cell(cells, "shared", "x");
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      while (!go.load()) {
        std::this_thread::yield();
      }
      for (int i = 0; i < kBumps; ++i) {
        cells.add(w, shared);
      }
    });
  }
  std::thread maker{[&] {
    for (int i = 0; i < 3000; ++i) {
      (void)cell(cells, "made", std::to_string(i));
    }
  }};
  go = true;
  std::size_t scrapes = 0;
  while (scrapes < 50) {
    CHECK_FALSE(render(cells).empty());
    ++scrapes;
  }
  maker.join();
  for (auto& t : workers) {
    t.join();
  }
  CHECK(cells.total(shared) == kWorkers * kBumps);
  CHECK(cells.size() == 3001);
}
