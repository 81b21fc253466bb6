// libFuzzer entry point for meshsim scenario files (tests/sim/scenario.cpp): any text must give a
// scenario or located diagnostics, never a crash, a hang or unbounded memory. When it parses, the same
// text is also tried as one event (POST /_sim/events) against the scenario.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/sim/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = meshmove::sim::parse_scenario(text, "fuzz.yaml");
  for (const auto& d : parsed.diagnostics) {
    if (d.message.empty()) __builtin_trap();  // every diagnostic says something
  }
  if (!parsed.scenario) {
    if (parsed.diagnostics.empty()) __builtin_trap();  // a refusal says why
    return 0;
  }
  const auto& s = *parsed.scenario;
  if (s.services.empty()) __builtin_trap();  // the services are required
  for (const auto& service : s.services) {
    if (service.subsets.empty()) __builtin_trap();  // at least one subset each
    for (const auto& subset : service.subsets) {
      if (subset.instances < 0 || !(subset.error_rate >= 0 && subset.error_rate <= 1)) __builtin_trap();
      if (subset.latency.median.count() <= 0 || subset.latency.median > subset.latency.p99) __builtin_trap();
      (void)meshmove::sim::dataplane_name(service.name, subset.name, subset.instances);
    }
  }
  for (const auto& e : s.events) (void)meshmove::sim::describe_event(e);
  // The events of the scenario, one at a time, through the API's event parser.
  const auto event = meshmove::sim::parse_event(text, s, "fuzz-event.yaml");
  if (event.event) (void)meshmove::sim::describe_event(*event.event);
  return 0;
}
