// libFuzzer entry point for Prometheus answers (metrics::parse_query_response): any HTTP status and
// body must give a result or an Error value, never a crash, a hang or unbounded memory. The input is
// one answer in the format of fuzz_transport.hpp ("503 {...}": status, then the body; 200 without).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "metrics/prometheus_client.hpp"
#include "tests/fuzz/fuzz_transport.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto answers = meshmove::fuzz::split_answers(input);
  for (const auto& a : answers) {
    const auto r = meshmove::metrics::parse_query_response(a.status, a.body);
    if (!r.ok()) {
      if (r.error().message.empty()) __builtin_trap();  // every error says what is wrong
      continue;
    }
    // Only instant vectors and scalars are answers a gate can use; a scalar is one unlabelled sample.
    if (r->result_type != "vector" && r->result_type != "scalar") __builtin_trap();
    if (r->result_type == "scalar" && (r->samples.size() != 1 || !r->samples[0].labels.empty())) __builtin_trap();
  }
  return 0;
}
