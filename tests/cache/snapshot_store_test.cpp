#include "cache/snapshot_store.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using mutex_edge::cache::SnapshotStore;
using mutex_edge::cache::StoreReader;

namespace {

/// A value whose fields must always agree; a torn or freed read would show.
struct Value {
  int number;
  int twice;
  explicit Value(int n) : number{n}, twice{2 * n} {}
};

}  // namespace

TEST_CASE("a reader sees nothing before the first publish, then the latest value",
          "[cache][store]") {
  SnapshotStore<Value> store;
  StoreReader<Value> reader{store};
  CHECK(reader.get() == nullptr);
  CHECK(store.version() == 0);
  store.publish(std::make_unique<const Value>(1));
  CHECK(reader.get()->number == 1);
  store.publish(std::make_unique<const Value>(2));
  CHECK(store.version() == 2);
  CHECK(reader.get()->number == 2);
}

TEST_CASE("replaced values are retired once no reader holds them", "[cache][store]") {
  std::vector<int> retired;
  SnapshotStore<Value> store{[&](const Value* v) {
    retired.push_back(v->number);
    delete v;
  }};
  StoreReader<Value> reader{store};
  store.publish(std::make_unique<const Value>(1));
  CHECK(reader.get()->number == 1);
  store.publish(std::make_unique<const Value>(2));
  CHECK(retired.empty());  // the reader still holds 1
  CHECK(reader.get()->number == 2);
  CHECK(retired == std::vector<int>{1});
}

TEST_CASE("publishing thousands of times while readers read is race-free",
          "[cache][store][concurrency]") {
  SnapshotStore<Value> store;
  store.publish(std::make_unique<const Value>(0));
  constexpr int kRounds = 50;
  constexpr int kPerRound = 100;
  constexpr int kReaders = 3;
  std::atomic<bool> done{false};
  std::atomic<int> running{0};
  // Each reader reports what it saw; the main thread asserts (Catch2 v2 is not thread-safe).
  struct Seen {
    std::atomic<int> latest{0};  // the last value read, for the publisher to wait on
    int values = 0;              // distinct values read
    std::string problem;
  };
  std::vector<Seen> seen(kReaders);
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      StoreReader<Value> reader{store};
      Seen& mine = seen[static_cast<std::size_t>(t)];
      ++running;
      int previous = -1;
      while (!done.load(std::memory_order_relaxed)) {
        const Value* v = reader.get();
        if (v->twice != 2 * v->number || v->number < previous) {
          mine.problem = "torn or stale read: " + std::to_string(v->number) + " after " +
                         std::to_string(previous);
          return;
        }
        mine.values += v->number != previous ? 1 : 0;
        previous = v->number;
        mine.latest.store(v->number, std::memory_order_relaxed);
      }
    });
  }
  while (running.load() < kReaders) {  // publish only while every reader reads
    std::this_thread::yield();
  }
  // Rounds of publishes; after each, every reader must move on to its last value, so readers
  // keep reading while values change under them.
  int value = 0;
  bool stuck = false;
  for (int round = 0; round < kRounds && !stuck; ++round) {
    for (int i = 0; i < kPerRound; ++i) {
      store.publish(std::make_unique<const Value>(++value));
    }
    for (Seen& s : seen) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
      while (s.latest.load(std::memory_order_relaxed) != value && s.problem.empty()) {
        if (std::chrono::steady_clock::now() > deadline) {
          stuck = true;
          break;
        }
        std::this_thread::yield();
      }
    }
  }
  done = true;
  for (auto& r : readers) {
    r.join();
  }
  CHECK_FALSE(stuck);
  CHECK(store.version() == kRounds * kPerRound + 1);
  CHECK(StoreReader<Value>{store}.get()->number == kRounds * kPerRound);
  for (const Seen& s : seen) {
    CHECK(s.problem.empty());
    CHECK(s.values >= kRounds);  // a new value at least once a round
  }
}
