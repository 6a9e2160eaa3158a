// Counts heap allocations made by this executable, to prove that assign() makes none.
#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "eval/group.hpp"

namespace {
std::atomic<long> g_allocations{0};

// Every replaceable form goes through the same counter and malloc/free, so that a sanitizer's
// own operators never pair with ours.
void* counted_alloc(std::size_t size) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* checked(void* p) {
  if (p == nullptr) {
    throw std::bad_alloc{};
  }
  return p;
}
}  // namespace

void* operator new(std::size_t size) {
  return checked(counted_alloc(size));
}
void* operator new[](std::size_t size) {
  return checked(counted_alloc(size));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_alloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_alloc(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

using namespace mutex_edge::eval;

TEST_CASE("assign allocates nothing on any path", "[eval][allocation]") {
  const std::vector<std::string> individuals = {"alice", "bob"};
  const std::vector<std::string> cohorts = {"c1"};
  const std::vector<std::string> none;
  const std::vector<SlotDef> slots = {{1, 20, individuals, cohorts}, {2, 30, none, none}};
  const CompiledGroup group = CompiledGroup::compile({"gp:plan", "salt", slots});

  const std::array<Field, 1> properties = {Field{"plan", "a-rather-long-plan-name-value"}};
  const std::array<std::string_view, 2> cohort_ids = {"c9", "c1"};
  User bucketed;
  bucketed.properties = properties;
  User included;
  included.user_id = "bob";
  User in_cohort;
  in_cohort.has_cohort_ids = true;
  in_cohort.cohort_ids = cohort_ids;

  const long before = g_allocations.load();
  Reason reasons[3];
  for (int i = 0; i < 1000; ++i) {
    reasons[0] = group.assign(bucketed).reason;
    reasons[1] = group.assign(included).reason;
    reasons[2] = group.assign(in_cohort).reason;
  }
  const long after = g_allocations.load();
  CHECK(after == before);
  CHECK(reasons[1] == Reason::kIndividual);
  CHECK(reasons[2] == Reason::kCohort);
  CHECK((reasons[0] == Reason::kBucket || reasons[0] == Reason::kUnallocated));

  // The counter itself works: a string too long for the small-string buffer allocates.
  std::string probe(100, 'x');
  CHECK(g_allocations.load() > after);
}
