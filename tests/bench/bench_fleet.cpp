// bench_fleet: many migrations advanced by one process (one planner::Engine with N runners, as
// `meshmove apply a.yaml b.yaml ...` does) against one process per migration (as N cron jobs or N
// `meshmove apply` invocations would), DESIGN.md §9. Not a test: it prints wall time, CPU time, peak
// memory and queries sent, with ratios against the one-process-each baseline measured in the same run.
// Usage: bench_fleet --help.
//
// Every migration is healthy and is driven to promotion on a virtual clock (FakeClock), with the real
// engine, state machine, PrometheusGates, PrometheusClient and judge(); Prometheus is FakePrometheus over
// a synthetic source (expected counts for the weight in effect), the control plane a recording fake. The
// state store is the real file store (by default in /dev/shm, so that fsync latency of the disk does not
// drown meshmove's own cost; --state-dir puts it elsewhere). Each measured configuration runs in a fresh
// forked process: the one-process mode in one child, the one-each mode in N children one after another.
// Forked children skip exec and dynamic linking; the cost of exec'ing the real binary is measured
// separately (`meshmove --version`) and reported next to the totals.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/file_state_store.hpp"
#include "backends/memory_state_store.hpp"
#include "metrics/prometheus_client.hpp"
#include "metrics/prometheus_gates.hpp"
#include "planner/diagnostic.hpp"
#include "planner/engine.hpp"
#include "planner/plan_parser.hpp"
#include "tests/bench/fake_prometheus.hpp"
#include "tests/bench/report.hpp"
#include "tests/unit/fake_clock.hpp"
#include "tests/unit/fakes.hpp"

namespace {

using namespace meshmove;
using namespace meshmove::bench;
using SteadyClock = std::chrono::steady_clock;

constexpr double k_rps = 400;           // offered to each service
constexpr double k_error_rate = 0.002;  // healthy: a fifth of the 1% SLO
// The share of requests at or below each of Envoy's bounds (0.5 ... 3600000 ms), then +Inf: a healthy
// service with a median near 18 ms and a p99 near 80 ms.
constexpr double k_le_share[] = {0.0, 0.001, 0.02, 0.12, 0.72, 0.95, 0.993, 0.9995, 0.99999, 1.0,
                                 1.0, 1.0,   1.0,  1.0,  1.0,  1.0,  1.0,   1.0,    1.0,     1.0};

// Expected counts for the weight in effect: what a steady healthy service would show.
class SyntheticSource final : public SeriesSource {
 public:
  void add(const std::string& service, const testsupport::FakeControlPlane* control_plane) {
    m_services[service] = control_plane;
  }
  planner::Result<std::optional<Increase>> window(const std::string& service, const std::string& subset,
                                                  Millis range, std::int64_t) override {
    const auto it = m_services.find(service);
    if (it == m_services.end()) return std::optional<Increase>();
    const int weight = it->second->live.to_weight.value_or(0);
    const double share = subset == "kube-env" ? weight / 10000.0 : 1.0 - weight / 10000.0;
    Increase inc;
    inc.requests = k_rps * share * static_cast<double>(range.count()) / 1000.0;
    inc.errors = inc.requests * k_error_rate;
    for (std::size_t i = 0; i < sim::k_bucket_count; ++i) {
      const double le = i < sim::k_latency_bounds_ms.size() ? sim::k_latency_bounds_ms[i] : HUGE_VAL;
      inc.buckets.emplace_back(le, inc.requests * k_le_share[i]);
    }
    return std::optional<Increase>(std::move(inc));
  }

 private:
  std::unordered_map<std::string, const testsupport::FakeControlPlane*> m_services;
};

class NullReporter final : public planner::Reporter, public planner::Notifier {
 public:
  void report(const planner::Plan&, const planner::EngineEvent&) override {}
  void notify(const planner::Plan&, const planner::EngineEvent&) override {}
};

struct Config {
  std::vector<int> sizes{1, 10, 100, 500};
  bool quick = false;
  bool file_store = true;
  int reps = 3;           // each configuration is measured this often; the table shows the medians
  std::string state_dir;  // empty: a fresh directory under /dev/shm (or $TMPDIR)
  std::string meshmove = std::string(MESHMOVE_BINARY_DIR) + "/meshmove";
};

std::string plan_yaml(int index, bool quick) {
  static const char* intervals[] = {"20s", "30s", "45s", "60s"};
  char name[32];
  std::snprintf(name, sizeof name, "m%04d", index);
  return std::string("apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: ") + name +
         "}\nservice: svc" + std::to_string(index) +
         "_default_svc_8080\nfrom: vm-env\nto: kube-env\n"
         "controlPlane: {type: kuma, url: 'http://127.0.0.1:5681'}\n"
         "steps: " +
         (quick ? "[50, 100]" : "[5, 25, 50, 100]") + "\nbake: " + (quick ? "1m" : "5m") +
         "\ninterval: " + intervals[index % 4] +
         "\nsettle: 30s\n"
         "gates:\n"
         "  prometheus: {url: 'http://prometheus.bench:9090'}\n"
         "  minRequests: 100\n  failureLimit: 2\n  decision: sequential\n"
         "  slos:\n"
         "    - {name: errors, type: error-rate, max: 0.01}\n"
         "    - {name: latency, type: latency, percentile: 99, max: 500ms}\n";
}

// What a child reports back through its pipe.
struct ChildReport {
  int migrations = 0;
  int promoted = 0;
  unsigned long long queries = 0;
};

// Runs migrations [first, first + count) in one Engine; returns what happened. Runs in a forked child.
ChildReport run_migrations(int first, int count, const Config& cfg, const std::string& state_dir) {
  ChildReport report;
  testsupport::FakeClock clock(testsupport::utc(2026, 11, 25, 10, 0));
  std::vector<planner::Plan> plans;
  plans.reserve(static_cast<std::size_t>(count));
  for (int i = first; i < first + count; ++i) {
    auto parsed = planner::parse_plan(plan_yaml(i, cfg.quick), "fleet-" + std::to_string(i) + ".yaml");
    if (!parsed.ok()) {
      std::fprintf(stderr, "%s\n", planner::format_diagnostic(parsed.diagnostics.at(0)).c_str());
      return report;
    }
    plans.push_back(std::move(*parsed.plan));
  }
  SyntheticSource source;
  FakePrometheus prometheus(source);
  std::vector<std::unique_ptr<testsupport::FakeControlPlane>> control_planes;
  std::vector<std::unique_ptr<metrics::PrometheusClient>> clients;
  std::vector<std::unique_ptr<metrics::PrometheusGates>> gates;
  std::unique_ptr<planner::StateStore> store;
  if (cfg.file_store) {
    store = backends::make_file_state_store({state_dir, {}}, clock);
  } else {
    store = std::make_unique<backends::MemoryStateStore>();
  }
  NullReporter reporter;
  planner::Engine engine(*store, clock, reporter, reporter, planner::EngineOptions{});
  for (const auto& plan : plans) {
    control_planes.push_back(std::make_unique<testsupport::FakeControlPlane>());
    source.add(plan.service, control_planes.back().get());
    clients.push_back(std::make_unique<metrics::PrometheusClient>(plan.gates.prometheus.url, prometheus));
    gates.push_back(std::make_unique<metrics::PrometheusGates>(*clients.back()));
    engine.add(plan, {control_planes.back().get(), gates.back().get()});
  }
  for (const auto& r : engine.run()) {
    ++report.migrations;
    if (r.outcome == planner::Outcome::Promoted) ++report.promoted;
  }
  report.queries = prometheus.queries();
  return report;
}

struct Measured {
  double wall_s = 0;
  double cpu_s = 0;
  double peak_rss_mb = 0;  // the largest process
  double sum_rss_mb = 0;   // every process's peak added: their footprint if they ran at the same time
  ChildReport report;
  bool ok = true;
};

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

// Forks a child that runs `work` and sends its ChildReport back; adds the child's usage to `m`.
template <class Work>
void in_child(Measured& m, Work work) {
  int fds[2];
  if (::pipe(fds) != 0) {
    m.ok = false;
    return;
  }
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const ChildReport r = work();
    const ssize_t written = ::write(fds[1], &r, sizeof r);
    ::_exit(written == static_cast<ssize_t>(sizeof r) ? 0 : 1);
  }
  ::close(fds[1]);
  ChildReport r;
  const ssize_t got = pid > 0 ? ::read(fds[0], &r, sizeof r) : -1;
  ::close(fds[0]);
  int status = 0;
  rusage usage{};
  if (pid < 0 || ::wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      got != static_cast<ssize_t>(sizeof r)) {
    m.ok = false;
    return;
  }
  m.cpu_s += seconds(usage.ru_utime) + seconds(usage.ru_stime);
  const double rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux: kilobytes
  m.peak_rss_mb = std::max(m.peak_rss_mb, rss_mb);
  m.sum_rss_mb += rss_mb;
  m.report.migrations += r.migrations;
  m.report.promoted += r.promoted;
  m.report.queries += r.queries;
}

std::string fresh_dir(const Config& cfg, const std::string& tag) {
  std::string base = cfg.state_dir;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : (tmp != nullptr ? tmp : "/tmp");
  }
  std::string templ = base + "/meshmove-bench-fleet-" + tag + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return {};
  return templ;
}

// The run with the median CPU time of `reps` runs of `measure`.
template <class Measure>
Measured median_of(int reps, Measure measure) {
  std::vector<Measured> runs;
  for (int i = 0; i < reps; ++i) runs.push_back(measure());
  std::sort(runs.begin(), runs.end(), [](const Measured& a, const Measured& b) { return a.cpu_s < b.cpu_s; });
  Measured m = runs[runs.size() / 2];
  for (const auto& r : runs) m.ok = m.ok && r.ok;
  return m;
}

Measured measure_one_process(int n, const Config& cfg) {
  Measured m;
  const std::string dir = fresh_dir(cfg, "one");
  const auto start = SteadyClock::now();
  in_child(m, [&] { return run_migrations(0, n, cfg, dir); });
  m.wall_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  std::filesystem::remove_all(dir);
  return m;
}

Measured measure_each(int n, const Config& cfg) {
  Measured m;
  const std::string dir = fresh_dir(cfg, "each");
  const auto start = SteadyClock::now();
  for (int i = 0; i < n && m.ok; ++i) in_child(m, [&] { return run_migrations(i, 1, cfg, dir); });
  m.wall_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  std::filesystem::remove_all(dir);
  return m;
}

// The cost of starting the real binary: `meshmove --version`, median of `reps` runs (wall seconds, peak
// RSS in MB). nullopt when the binary is missing.
std::optional<std::pair<double, double>> exec_cost(const std::string& binary, int reps) {
  if (::access(binary.c_str(), X_OK) != 0) return std::nullopt;
  std::vector<double> walls;
  double rss = 0;
  for (int i = 0; i < reps; ++i) {
    const auto start = SteadyClock::now();
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (std::freopen("/dev/null", "w", stdout) == nullptr) ::_exit(127);
      ::execl(binary.c_str(), binary.c_str(), "--version", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    rusage usage{};
    if (pid < 0 || ::wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      return std::nullopt;
    }
    walls.push_back(std::chrono::duration<double>(SteadyClock::now() - start).count());
    rss = std::max(rss, static_cast<double>(usage.ru_maxrss) / 1024.0);
  }
  return std::make_pair(*quantile(walls, 0.5), rss);
}

void usage() {
  std::printf(
      "bench_fleet: N healthy migrations driven to promotion by one meshmove process (one engine, N\n"
      "runners) vs one process per migration; virtual clock, real engine and gates, in-process Prometheus.\n"
      "Prints wall time, CPU time, peak memory and queries, with ratios against one-process-each.\n\n"
      "  --sizes N,N,...     fleet sizes (default 1,10,100,500)\n"
      "  --quick             a short plan (steps 50/100, bake 1m), one repetition: for smoke runs\n"
      "  --reps N            measure each configuration N times and show the median (default 3)\n"
      "  --store file|memory the state store (default file: the real file store)\n"
      "  --state-dir DIR     where the file store writes (default a fresh directory in /dev/shm)\n"
      "  --meshmove PATH     the binary whose exec cost is reported (default the build's meshmove)\n"
      "  --help              this text\n");
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
      cfg.reps = 1;
    } else if (a == "--reps" && has_value && positive_int(argv[i + 1])) {
      cfg.reps = *positive_int(argv[++i]);
    } else if (a == "--sizes" && has_value && int_list(argv[i + 1])) {
      cfg.sizes = *int_list(argv[++i]);
    } else if (a == "--store" && has_value &&
               (std::strcmp(argv[i + 1], "file") == 0 || std::strcmp(argv[i + 1], "memory") == 0)) {
      cfg.file_store = std::strcmp(argv[++i], "file") == 0;
    } else if (a == "--state-dir" && has_value) {
      cfg.state_dir = argv[++i];
    } else if (a == "--meshmove" && has_value) {
      cfg.meshmove = argv[++i];
    } else {
      std::fprintf(stderr, "bench_fleet: unknown or incomplete argument '%s' (see --help)\n", a.c_str());
      return 2;
    }
  }
  std::printf(
      "bench_fleet: healthy migrations to promotion (steps %s, bake %s, intervals 20/30/45/60 s, two SLOs),\n"
      "virtual clock, %s state store; one process = one engine with N runners in one forked child;\n"
      "one each = N forked children in turn. Medians of %d repetitions.\n\n",
      cfg.quick ? "50/100" : "5/25/50/100", cfg.quick ? "1m" : "5m", cfg.file_store ? "file" : "memory",
      cfg.reps);
  Measured idle;
  in_child(idle, [] { return ChildReport{}; });
  const auto exec = exec_cost(cfg.meshmove, cfg.quick ? 3 : 20);

  std::vector<std::vector<std::string>> rows = {{"migrations", "mode", "wall s", "CPU s", "CPU ms/migration",
                                                 "peak RSS MB", "RSS MB if concurrent", "queries",
                                                 "promoted"}};
  std::vector<std::string> ratios;
  std::vector<std::string> exec_ratios;
  bool all_ok = true;
  for (int n : cfg.sizes) {
    const Measured one = median_of(cfg.reps, [&] { return measure_one_process(n, cfg); });
    const Measured each = median_of(cfg.reps, [&] { return measure_each(n, cfg); });
    all_ok = all_ok && one.ok && each.ok && one.report.promoted == n && each.report.promoted == n;
    for (const auto* m : {&one, &each}) {
      rows.push_back({std::to_string(n), m == &one ? "one process" : "one process each", fixed(m->wall_s, 3),
                      fixed(m->cpu_s, 3), fixed(1000 * m->cpu_s / n, 2), fixed(m->peak_rss_mb, 1),
                      fixed(m->sum_rss_mb, 1), std::to_string(m->report.queries),
                      std::to_string(m->report.promoted) + "/" + std::to_string(n)});
    }
    char line[512];
    std::snprintf(
        line, sizeof line,
        "  %4d migrations: wall %s, CPU %s, memory %s (one process's peak vs %d concurrent processes), "
        "queries %s",
        n, ratio(one.wall_s, each.wall_s).c_str(), ratio(one.cpu_s, each.cpu_s).c_str(),
        ratio(one.peak_rss_mb, each.sum_rss_mb).c_str(), n,
        ratio(static_cast<double>(one.report.queries), static_cast<double>(each.report.queries)).c_str());
    ratios.emplace_back(line);
    if (exec) {
      // Estimated, not measured: each separate invocation also pays the exec'd binary's start-up, and
      // starts from the exec'd binary's footprint instead of the forked child's inherited pages.
      const double each_wall = each.wall_s + n * exec->first;
      const double each_rss = n * (each.peak_rss_mb - idle.peak_rss_mb + exec->second);
      std::snprintf(line, sizeof line,
                    "  %4d migrations: wall %s (%.2f s vs %.2f s), memory %s (%.1f MB vs %.0f MB)", n,
                    ratio(one.wall_s + exec->first, each_wall).c_str(), one.wall_s + exec->first, each_wall,
                    ratio(one.peak_rss_mb - idle.peak_rss_mb + exec->second, each_rss).c_str(),
                    one.peak_rss_mb - idle.peak_rss_mb + exec->second, each_rss);
      exec_ratios.emplace_back(line);
    }
  }
  print_table(rows);
  std::printf("\nratio vs one process each (one process / one process each; below 1 is better):\n");
  for (const auto& r : ratios) std::printf("%s\n", r.c_str());
  std::printf(
      "\nAn idle forked child peaks at %.1f MB RSS (the parent's pages it maps): part of every row.\n",
      idle.peak_rss_mb);
  if (exec) {
    std::printf(
        "Exec'ing the real binary (`meshmove --version`) costs %.1f ms wall and peaks at %.1f MB, which\n"
        "forked children do not pay. Estimated with it (one process pays it once, one each N times):\n",
        exec->first * 1000, exec->second);
    for (const auto& r : exec_ratios) std::printf("%s\n", r.c_str());
  }
  if (!all_ok) {
    std::fprintf(stderr, "bench_fleet: a child failed or a migration did not promote\n");
    return 1;
  }
  return 0;
}
