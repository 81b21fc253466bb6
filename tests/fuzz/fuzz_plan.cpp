// libFuzzer entry point for the plan parser: any bytes must give diagnostics or a plan, never a
// crash, a hang, or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "planner/plan_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const char* name : {"fuzz.yaml", "fuzz.json"}) {
    const auto result = meshmove::planner::parse_plan(text, name);
    if (result.ok() && result.plan->steps.empty()) __builtin_trap();  // a valid plan always has steps
    for (const auto& d : result.diagnostics) {
      if (d.message.empty()) __builtin_trap();  // every diagnostic says something
    }
  }
  return 0;
}
