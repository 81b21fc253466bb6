// bench_judgement: how well meshmove's sequential gates decide, against Flagger's and Argo Rollouts'
// threshold rules on the same simulated traffic (DESIGN.md §9). Not a test: it prints a table and ratios
// against the Flagger-style baseline measured in the same run. Usage: bench_judgement --help.
//
// Every run is one migration of apitier_default_svc_5000 from vm-env to kube-env through steps
// 5/10/25/50/100 % (bake 5m, interval 30s, settle 30s), in the meshsim traffic model on a virtual clock,
// scraped every 15 s by a modelled Prometheus. For each scenario and seed the three deciders each get a
// fresh world built from the same seed, so until their decisions differ they see the same requests.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "planner/diagnostic.hpp"
#include "planner/plan_parser.hpp"
#include "tests/bench/deciders.hpp"
#include "tests/bench/report.hpp"
#include "tests/sim/scenario.hpp"

namespace {

using namespace meshmove;
using namespace meshmove::bench;
using std::chrono::milliseconds;

constexpr const char* k_service = "apitier_default_svc_5000";
constexpr std::int64_t k_epoch_unix_ms = 1764064800000;  // 2025-11-25T10:00:00Z
constexpr std::size_t k_fault_event = 0;                 // a fault scenario's fault is its first event

struct ScenarioSpec {
  std::string name;
  std::string what;
  bool faulty = false;  // the release breaks an SLO from some point: rollback is right
  double rps = 400;     // offered to the service, split by the route
  double kube_error_rate = 0.002;
  std::string fault_set;        // `set:` of kube-env once it reaches 25 %
  bool fault_mid_step = false;  // the fault begins 150 s into the 25 % step (at a fixed time), not with it
  bool flapping = false;        // 20 s bursts of 5 % errors every 180 s (mean 0.73 %: within the SLO)
  std::optional<Outage> outage;
};

std::vector<ScenarioSpec> scenarios() {
  std::vector<ScenarioSpec> out;
  out.push_back(
      {"healthy", "kube-env 0.2% errors, p99 80 ms, 400 rps", false, 400, 0.002, "", false, false, {}});
  out.push_back(
      {"near-threshold", "kube-env 0.8% errors (0.8x the 1% SLO)", false, 400, 0.008, "", false, false, {}});
  out.push_back({"error-fault",
                 "errors 0.2% -> 2% (10x; 2x the SLO) once kube-env reaches 25%",
                 true,
                 400,
                 0.002,
                 "{errorRate: 0.02}",
                 false,
                 false,
                 {}});
  out.push_back({"error-fault-late",
                 "errors 0.2% -> 2%, 150 s into the 25% step (not at a weight change)",
                 true,
                 400,
                 0.002,
                 "{errorRate: 0.02}",
                 true,
                 false,
                 {}});
  out.push_back({"latency-fault",
                 "p99 80 ms -> 900 ms (3.4% slower than 500 ms) at 25%",
                 true,
                 400,
                 0.002,
                 "{latency: {median: 60ms, p99: 900ms}}",
                 false,
                 false,
                 {}});
  out.push_back({"low-traffic",
                 "healthy, 2 rps in all (0.1 rps to kube-env at 5%)",
                 false,
                 2,
                 0.002,
                 "",
                 false,
                 false,
                 {}});
  out.push_back({"flapping",
                 "healthy plus 20 s bursts of 5% errors every 3 min (mean 0.73%)",
                 false,
                 400,
                 0.002,
                 "",
                 false,
                 true,
                 {}});
  out.push_back({"metrics-gap", "healthy; no scrapes for 60 s, 90 s after reaching 25%", false, 400, 0.002,
                 "", false, false,
                 Outage{Outage::Kind::NoScrapes, 2500, milliseconds(90000), milliseconds(60000)}});
  out.push_back({"prometheus-down", "healthy; every query fails for 60 s, 90 s after reaching 25%", false,
                 400, 0.002, "", false, false,
                 Outage{Outage::Kind::QueriesFail, 2500, milliseconds(90000), milliseconds(60000)}});
  return out;
}

// The simulated time the to set first gets at least 25 %, if the plan is followed without delay.
milliseconds quarter_step_start(const planner::Plan& plan) {
  std::size_t i = 0;
  while (i + 1 < plan.steps.size() && plan.steps[i] < 2500) ++i;
  return std::chrono::duration_cast<milliseconds>(plan.bake * static_cast<int>(i));
}

std::string scenario_yaml(const ScenarioSpec& s, std::uint64_t seed, milliseconds horizon,
                          const planner::Plan& plan) {
  std::string y = "tick: 1s\nseed: " + std::to_string(seed) + "\nservices:\n  - name: " + k_service +
                  "\n    rps: " + std::to_string(s.rps) +
                  "\n    subsets:\n"
                  "      vm-env: {instances: 3, errorRate: 0.002, latency: {median: 20ms, p99: 90ms}}\n"
                  "      kube-env: {instances: 2, errorRate: " +
                  std::to_string(s.kube_error_rate) + ", latency: {median: 18ms, p99: 80ms}}\n";
  std::string events;
  if (!s.fault_set.empty() && s.fault_mid_step) {
    const auto at = quarter_step_start(plan) + milliseconds(150000);
    events += "  - {at: " + std::to_string(at.count()) + "ms, subset: kube-env, set: " + s.fault_set + "}\n";
  } else if (!s.fault_set.empty()) {
    events +=
        "  - {whenWeight: {subset: kube-env, atLeast: 25}, subset: kube-env, set: " + s.fault_set + "}\n";
  }
  if (s.flapping) {
    const long long period = 180, burst = 20;
    const long long phase = static_cast<long long>((seed * 37) % period);
    for (long long t = phase; t * 1000 < horizon.count(); t += period) {
      events += "  - {at: " + std::to_string(t) + "s, subset: kube-env, set: {errorRate: 0.05}}\n";
      events += "  - {at: " + std::to_string(t + burst) +
                "s, subset: kube-env, set: {errorRate: " + std::to_string(s.kube_error_rate) + "}}\n";
    }
  }
  if (!events.empty()) y += "events:\n" + events;
  return y;
}

struct Config {
  int seeds = 200;
  bool quick = false;
  bool verbose = false;
  std::vector<std::string> only;
  FlaggerConfig flagger;
  int flagger_alt_threshold = 5;  // a second Flagger-style row with the threshold its docs use; 0: none
  ArgoConfig argo;
  milliseconds horizon{4 * 3600 * 1000};
  std::string csv;
};

std::string plan_yaml(const Config& c, const std::string& max_hold) {
  const std::string steps = c.quick ? "[10, 50, 100]" : "[5, 10, 25, 50, 100]";
  const std::string bake = c.quick ? "2m" : "5m";
  return std::string("apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: bench}\nservice: ") +
         k_service +
         "\nmesh: default\ntagKey: env\nfrom: vm-env\nto: kube-env\n"
         "controlPlane: {type: kuma, url: 'http://127.0.0.1:5681'}\n"
         "steps: " +
         steps + "\nbake: " + bake +
         "\ninterval: 30s\nsettle: 30s\n"
         "gates:\n"
         "  prometheus: {url: 'http://prometheus.bench:9090'}\n"
         "  minRequests: 100\n  onNoData: hold\n  maxHold: " +
         max_hold +
         "\n  onMaxHold: pause\n"
         "  failureLimit: 2\n  decision: sequential\n  confidence: 0.99\n"
         "  slos:\n"
         "    - {name: errors, type: error-rate, max: 0.01}\n"
         "    - {name: latency, type: latency, percentile: 99, max: 500ms}\n";
}

struct Decider {
  enum class Kind { Meshmove, Flagger, Argo };
  std::string name;
  Kind kind = Kind::Meshmove;
  const planner::Plan* plan = nullptr;
  FlaggerConfig flagger;
  ArgoConfig argo;
  std::string only_scenario;  // empty: every scenario
};

// What one decider did over every seed of one scenario.
struct Tally {
  int runs = 0;
  std::map<RunResult::End, int> ends;
  int false_rollbacks = 0;  // rolled back a release that was within its SLOs at the time
  int faulty_promotions = 0;
  std::vector<double> detect_s;   // fault start -> rollback
  std::vector<double> promote_s;  // start -> promotion, healthy releases
  std::vector<double> impact;     // bad requests the faulty set served from the fault to the rollback
  double checks = 0;
  double queries = 0;
  [[nodiscard]] int count(RunResult::End e) const {
    const auto it = ends.find(e);
    return it == ends.end() ? 0 : it->second;
  }
};

// What the fault makes bad: 5xx responses, or (latency faults) requests slower than 500 ms.
double bad_requests(const ScenarioSpec& spec, const sim::Counters& c) {
  if (spec.fault_set.find("latency") == std::string::npos) return static_cast<double>(c.errors);
  double slow = 0;
  for (std::size_t b = 0; b < sim::k_bucket_count; ++b) {
    if (b >= sim::k_latency_bounds_ms.size() || sim::k_latency_bounds_ms[b] > 500)
      slow += static_cast<double>(c.buckets[b]);
  }
  return slow;
}

std::optional<planner::Plan> make_plan(const Config& cfg, const std::string& max_hold) {
  const auto parsed = planner::parse_plan(plan_yaml(cfg, max_hold), "bench-plan.yaml");
  if (!parsed.ok()) {
    for (const auto& d : parsed.diagnostics)
      std::fprintf(stderr, "%s\n", planner::format_diagnostic(d).c_str());
    return std::nullopt;
  }
  return *parsed.plan;
}

void usage() {
  std::printf(
      "bench_judgement: meshmove's sequential gates vs Flagger- and Argo-Rollouts-style threshold rules on\n"
      "the same simulated traffic (meshsim model, virtual clock). Prints a table and ratios against the\n"
      "Flagger-style baseline measured in the same run.\n\n"
      "  --seeds N                   seeds per scenario (default 200)\n"
      "  --quick                     a short plan (steps 10/50/100, bake 2m): for smoke runs\n"
      "  --scenario NAME             run only this scenario (repeatable): healthy, near-threshold, "
      "error-fault,\n"
      "                              error-fault-late, latency-fault, low-traffic, flapping, metrics-gap,\n"
      "                              prometheus-down\n"
      "  --flagger-threshold N       the baseline's analysis.threshold (default 2, meshmove's failureLimit)\n"
      "  --flagger-alt-threshold N   a second Flagger-style row with this threshold (default 5; 0: none)\n"
      "  --argo-failure-limit N      Argo metric failureLimit: abort when Failed > N (default 1)\n"
      "  --csv FILE                  write one line per run (scenario, seed, decider, end, times)\n"
      "  --verbose                   print every run's outcome and reason\n"
      "  --help                      this text\n");
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--quick") {
      cfg.quick = true;
    } else if (a == "--verbose") {
      cfg.verbose = true;
    } else if (a == "--seeds" && has_value && positive_int(argv[i + 1])) {
      cfg.seeds = *positive_int(argv[++i]);
    } else if (a == "--scenario" && has_value) {
      cfg.only.emplace_back(argv[++i]);
    } else if (a == "--flagger-threshold" && has_value && positive_int(argv[i + 1])) {
      cfg.flagger.threshold = *positive_int(argv[++i]);
    } else if (a == "--flagger-alt-threshold" && has_value) {
      cfg.flagger_alt_threshold = std::atoi(argv[++i]);
    } else if (a == "--argo-failure-limit" && has_value) {
      cfg.argo.failure_limit = std::atoi(argv[++i]);
    } else if (a == "--csv" && has_value) {
      cfg.csv = argv[++i];
    } else {
      std::fprintf(stderr, "bench_judgement: unknown or incomplete argument '%s' (see --help)\n", a.c_str());
      return 2;
    }
  }
  const auto wall_start = std::chrono::steady_clock::now();

  const auto plan = make_plan(cfg, "30m");
  const auto patient_plan = make_plan(cfg, "0s");
  if (!plan || !patient_plan) return 1;
  const Schedule schedule{plan->steps, plan->bake, plan->interval};
  const Slos slos{0.01, 500};

  std::vector<Decider> deciders;
  deciders.push_back({"meshmove", Decider::Kind::Meshmove, &*plan, {}, {}, ""});
  deciders.push_back({"flagger", Decider::Kind::Flagger, nullptr, cfg.flagger, {}, ""});
  if (cfg.flagger_alt_threshold > 0 && cfg.flagger_alt_threshold != cfg.flagger.threshold) {
    FlaggerConfig alt = cfg.flagger;
    alt.threshold = cfg.flagger_alt_threshold;
    deciders.push_back(
        {"flagger-t" + std::to_string(alt.threshold), Decider::Kind::Flagger, nullptr, alt, {}, ""});
  }
  deciders.push_back({"argo", Decider::Kind::Argo, nullptr, {}, cfg.argo, ""});
  // Where maxHold pauses meshmove (too little traffic to decide), how long it needs when it may wait.
  deciders.push_back({"meshmove, maxHold 0", Decider::Kind::Meshmove, &*patient_plan, {}, {}, "low-traffic"});

  std::vector<ScenarioSpec> specs;
  for (const auto& s : scenarios()) {
    if (cfg.only.empty() || std::find(cfg.only.begin(), cfg.only.end(), s.name) != cfg.only.end())
      specs.push_back(s);
  }
  if (specs.empty()) {
    std::fprintf(stderr, "bench_judgement: no such scenario (see --help)\n");
    return 2;
  }
  std::FILE* csv = cfg.csv.empty() ? nullptr : std::fopen(cfg.csv.c_str(), "w");
  if (csv != nullptr) std::fprintf(csv, "scenario,seed,decider,end,end_s,fault_s,checks,queries\n");

  std::printf("bench_judgement: %d seeds per scenario; plan steps", cfg.seeds);
  for (int s : plan->steps) std::printf(" %s%%", planner::format_weight(s).c_str());
  std::printf(", bake %s, interval %s, settle %s; meshsim model, 1 s ticks, scraped every 15 s\n",
              planner::format_duration(plan->bake).c_str(), planner::format_duration(plan->interval).c_str(),
              planner::format_duration(plan->settle).c_str());
  std::printf(
      "  SLOs: error rate <= 1%%, p99 <= 500 ms.\n"
      "  meshmove: the real engine and gates; sequential (SPRT, confidence 0.99, breachFactor 2), "
      "minRequests\n"
      "    100, onNoData hold, maxHold 30m -> pause, failureLimit 2 (FAILs not reset by a HOLD).\n"
      "  flagger: threshold %d (failedChecks, never reset within the analysis; rollback at the next tick),\n"
      "    success rate and p99 over the last 1m, no data or NaN or a failed query = a failed check.\n"
      "  argo: background AnalysisRun, interval 30s, initialDelay 30s, failureLimit %d (abort when Failed >\n"
      "    limit, counted over the run), consecutiveErrorLimit %d, 1m window, successCondition only.\n",
      cfg.flagger.threshold, cfg.argo.failure_limit, cfg.argo.consecutive_error_limit);
  for (const auto& spec : specs) std::printf("  scenario %-16s %s\n", spec.name.c_str(), spec.what.c_str());
  std::printf("\n");

  std::map<std::string, std::map<std::string, Tally>> tallies;
  int total_runs = 0;
  for (const auto& spec : specs) {
    for (int seed = 1; seed <= cfg.seeds; ++seed) {
      const std::string yaml = scenario_yaml(spec, static_cast<std::uint64_t>(seed), cfg.horizon, *plan);
      auto parsed = sim::parse_scenario(yaml, spec.name);
      if (!parsed.scenario) {
        std::fprintf(
            stderr, "bench_judgement: invalid generated scenario %s: %s\n", spec.name.c_str(),
            parsed.diagnostics.empty() ? "" : planner::format_diagnostic(parsed.diagnostics[0]).c_str());
        return 1;
      }
      for (const Decider& decider : deciders) {
        if (!decider.only_scenario.empty() && decider.only_scenario != spec.name) continue;
        MeshSetup setup;
        setup.service = k_service;
        setup.from = "vm-env";
        setup.to = "kube-env";
        setup.scrape_offset = milliseconds(1000 * (seed % 15));
        setup.epoch_unix_ms = k_epoch_unix_ms;
        SimMesh mesh(*parsed.scenario, setup);
        if (spec.outage) mesh.add_outage(*spec.outage);
        RunResult r;
        switch (decider.kind) {
          case Decider::Kind::Meshmove:
            r = run_meshmove(mesh, *decider.plan, cfg.horizon);
            break;
          case Decider::Kind::Flagger:
            r = run_flagger(mesh, schedule, slos, decider.flagger, cfg.horizon);
            break;
          case Decider::Kind::Argo:
            r = run_argo(mesh, schedule, slos, decider.argo, cfg.horizon);
            break;
        }
        ++total_runs;
        const std::optional<milliseconds> fault = spec.faulty ? mesh.fired_at(k_fault_event) : std::nullopt;
        const double end_s = static_cast<double>(r.end_at.count()) / 1000.0;
        const double fault_s = fault ? static_cast<double>(fault->count()) / 1000.0 : -1;
        Tally& t = tallies[spec.name][decider.name];
        ++t.runs;
        ++t.ends[r.end];
        t.checks += static_cast<double>(r.checks);
        t.queries += static_cast<double>(r.queries);
        if (r.end == RunResult::End::RolledBack) {
          if (fault && r.end_at >= *fault) {
            t.detect_s.push_back(end_s - fault_s);
            const auto before = mesh.to_counters_when_fired(k_fault_event);
            if (before)
              t.impact.push_back(
                  bad_requests(spec, mesh.simulation().subset_counters(k_service, "kube-env")) -
                  bad_requests(spec, *before));
          } else {
            ++t.false_rollbacks;
          }
        } else if (r.end == RunResult::End::Promoted) {
          if (spec.faulty && fault) {
            ++t.faulty_promotions;
          } else {
            t.promote_s.push_back(end_s);
          }
        }
        if (cfg.verbose) {
          std::printf("%-16s seed %3d %-20s %-11s at %7.0f s (fault at %6.0f s)  %s\n", spec.name.c_str(),
                      seed, decider.name.c_str(), to_string(r.end), end_s, fault_s, r.why.c_str());
        }
        if (csv != nullptr) {
          std::fprintf(csv, "%s,%d,%s,%s,%.3f,%.3f,%llu,%llu\n", spec.name.c_str(), seed,
                       decider.name.c_str(), to_string(r.end), end_s, fault_s,
                       static_cast<unsigned long long>(r.checks), static_cast<unsigned long long>(r.queries));
        }
      }
    }
  }
  if (csv != nullptr) std::fclose(csv);

  // ---- the table ----
  std::vector<std::vector<std::string>> rows = {
      {"scenario", "decider", "runs", "promoted", "rolled back", "paused", "false RB", "faulty promo",
       "detect p50", "detect p90", "bad reqs p50", "promote p50", "promote p90", "queries/run"}};
  for (const auto& spec : specs) {
    for (const Decider& decider : deciders) {
      const auto it = tallies[spec.name].find(decider.name);
      if (it == tallies[spec.name].end()) continue;
      const Tally& t = it->second;
      const int other =
          t.count(RunResult::End::Paused) + t.count(RunResult::End::Timeout) + t.count(RunResult::End::Error);
      rows.push_back({spec.name, decider.name, std::to_string(t.runs),
                      percent(t.count(RunResult::End::Promoted), t.runs),
                      percent(t.count(RunResult::End::RolledBack), t.runs), percent(other, t.runs),
                      percent(t.false_rollbacks, t.runs),
                      spec.faulty ? percent(t.faulty_promotions, t.runs) : "-",
                      seconds_text(quantile(t.detect_s, 0.5)), seconds_text(quantile(t.detect_s, 0.9)),
                      t.impact.empty() ? "-" : fixed(*quantile(t.impact, 0.5), 0),
                      seconds_text(quantile(t.promote_s, 0.5)), seconds_text(quantile(t.promote_s, 0.9)),
                      fixed(t.queries / std::max(1, t.runs), 0)});
      if (t.count(RunResult::End::Error) > 0 || t.count(RunResult::End::Timeout) > 0) {
        std::printf("note: %s / %s: %d errors, %d runs reached the %lld h horizon\n", spec.name.c_str(),
                    decider.name.c_str(), t.count(RunResult::End::Error), t.count(RunResult::End::Timeout),
                    static_cast<long long>(cfg.horizon.count() / 3600000));
      }
    }
  }
  print_table(rows);
  std::printf(
      "\nfalse RB: rolled back while the release met its SLOs (in fault scenarios: before the fault began).\n"
      "paused: meshmove held (HOLD: too few requests, or not yet 99%% evidence either way) longer than "
      "maxHold\n"
      "and paused: it neither promoted nor rolled back. detect: from the fault's start to the rollback "
      "write.\n"
      "bad reqs: 5xx (latency faults: requests slower than 500 ms) the faulty set served between the fault\n"
      "and the rollback. promote: from the first step to the promotion. queries/run: PromQL queries per "
      "run.\n");

  // ---- ratios against the Flagger-style baseline of this run ----
  std::printf("\nRatios against the Flagger-style baseline (threshold %d) measured in this run:\n",
              cfg.flagger.threshold);
  for (const auto& spec : specs) {
    if (!spec.faulty) continue;
    const Tally& f = tallies[spec.name]["flagger"];
    for (const Decider& decider : deciders) {
      if (decider.name == "flagger" || !tallies[spec.name].count(decider.name)) continue;
      const Tally& t = tallies[spec.name][decider.name];
      std::printf(
          "  %-16s %-10s rolls back %s after the fault (median) = %s Flagger's %s; p90 %s vs %s;"
          " bad requests %s; faulty promotions %s vs %s\n",
          spec.name.c_str(), decider.name.c_str(), seconds_text(quantile(t.detect_s, 0.5)).c_str(),
          ratio(quantile(t.detect_s, 0.5), quantile(f.detect_s, 0.5)).c_str(),
          seconds_text(quantile(f.detect_s, 0.5)).c_str(), seconds_text(quantile(t.detect_s, 0.9)).c_str(),
          seconds_text(quantile(f.detect_s, 0.9)).c_str(),
          ratio(quantile(t.impact, 0.5), quantile(f.impact, 0.5)).c_str(),
          percent(t.faulty_promotions, t.runs).c_str(), percent(f.faulty_promotions, f.runs).c_str());
    }
  }
  std::map<std::string, std::pair<int, int>>
      false_rb;  // decider -> (false rollbacks, runs), healthy releases
  for (const auto& spec : specs) {
    if (spec.faulty) continue;
    for (const Decider& decider : deciders) {
      if (!decider.only_scenario.empty() || !tallies[spec.name].count(decider.name)) continue;
      const Tally& t = tallies[spec.name][decider.name];
      false_rb[decider.name].first += t.false_rollbacks;
      false_rb[decider.name].second += t.runs;
    }
  }
  const auto rate = [&](const std::string& d) -> std::optional<double> {
    const auto& [fails, runs] = false_rb[d];
    if (runs == 0) return std::nullopt;
    return static_cast<double>(fails) / runs;
  };
  if (false_rb["flagger"].second > 0) {
    std::printf("  false rollbacks over every healthy-release run (%d per decider):",
                false_rb["flagger"].second);
    for (const Decider& decider : deciders) {
      if (!decider.only_scenario.empty()) continue;
      std::printf(" %s %s (%s);", decider.name.c_str(),
                  percent(false_rb[decider.name].first, false_rb[decider.name].second).c_str(),
                  ratio(rate(decider.name), rate("flagger")).c_str());
    }
    std::printf("\n");
    for (const auto& spec : specs) {
      if (spec.faulty) continue;
      const Tally& m = tallies[spec.name]["meshmove"];
      const Tally& f = tallies[spec.name]["flagger"];
      std::printf(
          "  %-16s false rollbacks meshmove %s vs Flagger %s; time to promote (median) meshmove %s = %s"
          " Flagger's %s\n",
          spec.name.c_str(), percent(m.false_rollbacks, m.runs).c_str(),
          percent(f.false_rollbacks, f.runs).c_str(), seconds_text(quantile(m.promote_s, 0.5)).c_str(),
          ratio(quantile(m.promote_s, 0.5), quantile(f.promote_s, 0.5)).c_str(),
          seconds_text(quantile(f.promote_s, 0.5)).c_str());
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  std::printf("\n%d runs in %.1f s of wall time.\n", total_runs, wall);
  return 0;
}
