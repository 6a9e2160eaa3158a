// mutex-mgmt's edit requests: the same body as PATCH /api/1/mutexes/{id} (name, description,
// archive: config::decode_group_edit) and as PATCH /api/1/mutexes/{id}/slots/{slotIndex}
// (experiments, holdouts, individuals, cohorts: config::decode_slot_edit), through mgmt::Api on
// the seeded groups. After an edit the listing must stay one that mutex-edge takes whole.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/management.hpp"

using namespace mutex_edge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Management& mgmt = fuzz::Management::get();
  const std::string_view body = fuzz::text(data, size);
  const bool bad_utf8 = !fuzz::valid_utf8(body);
  // A group with every list filled, and a slot of a group that leaves 40% unallocated.
  for (const char* target : {"/api/1/mutexes/101", "/api/1/mutexes/202/slots/1"}) {
    (void)mgmt.call(http::Request{.method = http::Method::kPatch,
                                  .target = target,
                                  .content_type = "application/json",
                                  .body = body},
                    bad_utf8);
  }
  mgmt.check_and_reset_if_changed();
  return 0;
}
