#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "cache/snapshot_store.hpp"

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
  constexpr int kPublishes = 5000;
  std::atomic<bool> done{false};
  std::atomic<long> reads{0};
  std::atomic<int> running{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      StoreReader<Value> reader{store};
      int last = 0;
      long local = 0;
      ++running;
      while (!done.load(std::memory_order_relaxed)) {
        const Value* v = reader.get();
        if (v->twice != 2 * v->number || v->number < last) {
          FAIL("torn or stale read: " << v->number << " after " << last);
        }
        last = v->number;
        ++local;
      }
      reads += local;
    });
  }
  while (running.load() < 3) {  // publish only while every reader reads
    std::this_thread::yield();
  }
  for (int i = 1; i <= kPublishes; ++i) {
    store.publish(std::make_unique<const Value>(i));
  }
  done = true;
  for (auto& r : readers) {
    r.join();
  }
  CHECK(store.version() == kPublishes + 1);
  CHECK(StoreReader<Value>{store}.get()->number == kPublishes);
  CHECK(reads.load() > 0);
}
