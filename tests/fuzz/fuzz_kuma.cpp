// libFuzzer entry point for Kuma answers: backends::KumaControlPlane's read(), preflight() and write()
// over a fake transport that answers from the fuzz input (answers in the format of fuzz_transport.hpp;
// request i gets answer i modulo their number), for one route kind per input (by its length). Whatever the control plane says:
// no crash, errors are values that say something, and what is read is within its range.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "backends/kuma_control_plane.hpp"
#include "tests/fuzz/fuzz_plans.hpp"
#include "tests/fuzz/fuzz_transport.hpp"

namespace {

[[noreturn]] void violation(const char* what) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\n", what);
  std::abort();
}

void check_error(const meshmove::planner::Error& e) {
  if (e.message.empty()) violation("an error without a message");
}

void check_live(const meshmove::planner::LiveRouting& live) {
  if (live.to_weight && (*live.to_weight < 0 || *live.to_weight > meshmove::planner::k_full_weight))
    violation("a weight read outside 0..10000 basis points");
  if (live.exists() && !nlohmann::json::accept(live.document)) violation("the live document is not JSON");
}

const std::vector<meshmove::planner::Plan>& plans() {
  static const std::vector<meshmove::planner::Plan> all = {
      meshmove::fuzz::fixed_plan(meshmove::fuzz::kuma_plan_yaml("mesh-http-route")),
      meshmove::fuzz::fixed_plan(meshmove::fuzz::kuma_plan_yaml("mesh-tcp-route")),
      meshmove::fuzz::fixed_plan(meshmove::fuzz::kuma_plan_yaml("traffic-route")),
      meshmove::fuzz::fixed_plan(meshmove::fuzz::kuma_plan_yaml("mesh-service")),
  };
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto answers = meshmove::fuzz::split_answers(input);
  {
    // The route kind by the input's length: one control plane per input keeps the fuzzer fast.
    const auto& plan = plans()[size % plans().size()];
    meshmove::fuzz::FuzzTransport transport(answers);
    auto cp = meshmove::backends::make_kuma_control_plane(plan, transport);
    if (auto live = cp->read(); live.ok()) {
      check_live(*live);
    } else {
      check_error(live.error());
    }
    if (auto report = cp->preflight(); report.ok()) {
      if (report->from_instances < 0 || report->to_instances < 0) violation("a negative instance count");
    } else {
      check_error(report.error());
    }
    for (const int weight : {2500, 10000}) {
      const meshmove::planner::PolicyWrite w{weight, plan.name, 1};
      if (auto back = cp->write(w); back.ok()) {
        check_live(*back);
        // write() succeeds only when it read back what it wrote.
        if (back->to_weight != weight || back->owner != plan.name || back->step != 1)
          violation("write() succeeded but read back something else");
      } else {
        check_error(back.error());
      }
    }
  }
  return 0;
}
