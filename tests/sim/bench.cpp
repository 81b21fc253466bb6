// meshsim_bench: the cost of the traffic model at fleet scale (not a test; run by hand).
//   meshsim_bench [--services 1000] [--rps 400] [--ticks 600]
// Builds a scenario of N services with two subsets (3 + 2 instances) at the given rps each and a
// MeshHTTPRoute on every service, runs the ticks on the virtual clock and reports the mean cost of a
// 100 ms tick and of one /metrics exposition, in milliseconds of one core.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/sim/simulation.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace meshmove::sim;
  int services = 1000;
  double rps = 400;
  int ticks = 600;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--services") services = std::atoi(argv[i + 1]);
    if (flag == "--rps") rps = std::atof(argv[i + 1]);
    if (flag == "--ticks") ticks = std::atoi(argv[i + 1]);
  }
  std::string yaml = "services:\n";
  for (int s = 0; s < services; ++s) {
    yaml += "  - {name: svc" + std::to_string(s) + "_default_svc_8080, rps: " + std::to_string(rps) +
            ", subsets: {vm-env: {instances: 3, errorRate: 0.001, latency: {median: 20ms, p99: 90ms}}, "
            "kube-env: {instances: 2, errorRate: 0.001, latency: {median: 18ms, p99: 80ms}}}}\n";
  }
  const auto build_start = Clock::now();
  ScenarioParse parsed = parse_scenario(yaml, "bench");
  if (!parsed.scenario) {
    std::fprintf(stderr, "invalid generated scenario\n");
    return 1;
  }
  Simulation sim(std::move(*parsed.scenario));
  for (int s = 0; s < services; ++s) {
    const std::string svc = "svc" + std::to_string(s) + "_default_svc_8080";
    const std::string ref = R"({"kind":"MeshServiceSubset","name":")" + svc + R"(","tags":{"env":")";
    const PolicyCheck check = sim.apply_policy(Json::parse(
        R"({"type":"MeshHTTPRoute","mesh":"default","name":"r)" + std::to_string(s) +
        R"(","spec":{"targetRef":{"kind":"Mesh"},"to":[{"targetRef":{"kind":"MeshService","name":")" + svc +
        R"("},"rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"default":{"backendRefs":[)" +
        ref + R"(vm-env"},"weight":60},)" + ref + R"(kube-env"},"weight":40}]}}]}]}})"));
    if (!check.ok()) {
      std::fprintf(stderr, "invalid generated policy\n");
      return 1;
    }
  }
  sim.run_tick();  // routing for all policies
  const double setup_ms = ms_since(build_start);

  const auto tick_start = Clock::now();
  for (int t = 0; t < ticks; ++t) sim.run_tick();
  const double tick_ms = ms_since(tick_start) / ticks;

  std::string buffer;
  const int scrapes = 20;
  const auto scrape_start = Clock::now();
  for (int i = 0; i < scrapes; ++i) {
    buffer.clear();
    sim.write_metrics(buffer);
  }
  const double scrape_ms = ms_since(scrape_start) / scrapes;

  std::printf("services=%d instances=%d rps/service=%.0f total rps=%.0f\n", services, services * 5, rps,
              rps * services);
  std::printf("setup (parse + %d policies + first routing): %.1f ms\n", services, setup_ms);
  std::printf("tick (100 ms of traffic): %.3f ms mean over %d ticks = %.1f %% of one core in real time\n",
              tick_ms, ticks, tick_ms / 100.0 * 100.0);
  std::printf("exposition: %.1f ms, %.1f MB, %zu lines\n", scrape_ms,
              static_cast<double>(buffer.size()) / 1e6,
              static_cast<std::size_t>(std::count(buffer.begin(), buffer.end(), '\n')));
  return 0;
}
