// bench_cli: what `meshmove validate` and `meshmove plan --offline` cost to start and per plan
// (DESIGN.md §9). Not a test: it prints wall and CPU times (medians of repeated runs) and, when valgrind is
// available, callgrind instruction counts, which do not depend on what else the machine is doing, with
// ratios against baselines measured in the same run: exec'ing /bin/true (the cost of any process) and
// `meshmove --version` (meshmove's start-up without a command). Usage: bench_cli --help.
//
// The plans are copies of plans/vm-to-kube.yaml (7 steps, 3 SLOs) with distinct names. `validate` takes
// many plans in one invocation; `plan` takes one, so its per-plan cost is also measured in process, by
// calling meshmove::cli::run() repeatedly with its output discarded.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "tests/bench/report.hpp"

namespace {

using meshmove::bench::fixed;
using meshmove::bench::quantile;
using meshmove::bench::ratio;
using SteadyClock = std::chrono::steady_clock;

struct Config {
  bool quick = false;
  int reps = 30;
  int plans = 100;
  bool callgrind = true;
  std::string meshmove = std::string(MESHMOVE_BINARY_DIR) + "/meshmove";
  std::string plan_source = std::string(MESHMOVE_SOURCE_DIR) + "/plans/vm-to-kube.yaml";
};

struct Timing {
  double wall_ms = 0;  // median
  double cpu_ms = 0;   // median, user + system of the child
  bool ok = true;
};

// Runs argv with stdout and stderr discarded; returns wall and CPU milliseconds, or nullopt on failure
// (exit status other than 0).
std::optional<std::pair<double, double>> run_once(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // execv does not modify them
  args.push_back(nullptr);
  std::fflush(nullptr);
  const auto start = SteadyClock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (std::freopen("/dev/null", "w", stdout) == nullptr ||
        std::freopen("/dev/null", "w", stderr) == nullptr) {
      ::_exit(127);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  if (pid < 0 || ::wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return std::nullopt;
  }
  const double wall = std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
  const auto ms = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) * 1000.0 + static_cast<double>(tv.tv_usec) / 1000.0;
  };
  return std::make_pair(wall, ms(usage.ru_utime) + ms(usage.ru_stime));
}

// Runs `commands` (in order, as one sample) `reps` times; medians of the sample totals.
Timing time_commands(const std::vector<std::vector<std::string>>& commands, int reps) {
  std::vector<double> walls, cpus;
  Timing t;
  for (int i = 0; i < reps; ++i) {
    double wall = 0, cpu = 0;
    for (const auto& argv : commands) {
      const auto r = run_once(argv);
      if (!r) {
        t.ok = false;
        return t;
      }
      wall += r->first;
      cpu += r->second;
    }
    walls.push_back(wall);
    cpus.push_back(cpu);
  }
  t.wall_ms = *quantile(walls, 0.5);
  t.cpu_ms = *quantile(cpus, 0.5);
  return t;
}

// Instructions executed by argv under callgrind ("Collected : N"); nullopt when it cannot be run.
std::optional<double> instructions(const std::vector<std::string>& argv) {
  std::string cmd = "valgrind --tool=callgrind --callgrind-out-file=/dev/null";
  for (const auto& a : argv) cmd += " '" + a + "'";
  cmd += " 2>&1 >/dev/null";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = ::pclose(p);
  if (status != 0) return std::nullopt;
  const auto pos = out.find("Collected :");
  if (pos == std::string::npos) return std::nullopt;
  std::string digits;
  for (std::size_t i = pos + 11; i < out.size() && out[i] != '\n'; ++i) {
    if (out[i] >= '0' && out[i] <= '9') digits += out[i];
  }
  if (digits.empty()) return std::nullopt;
  return std::stod(digits);
}

class NullBuffer final : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

// Calls meshmove::cli::run(argv) `calls` times in this process with std::cout and std::cerr discarded;
// returns milliseconds of wall time per call, or nullopt when a call does not return 0.
std::optional<double> in_process_ms(const std::vector<std::string>& argv, int calls) {
  NullBuffer null;
  std::streambuf* out = std::cout.rdbuf(&null);
  std::streambuf* err = std::cerr.rdbuf(&null);
  bool ok = true;
  const auto start = SteadyClock::now();
  for (int i = 0; i < calls && ok; ++i) {
    std::vector<std::string> copy = argv;
    std::vector<char*> args;
    for (auto& a : copy) args.push_back(a.data());
    ok = meshmove::cli::run(static_cast<int>(args.size()), args.data()) == 0;
  }
  const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
  std::cout.rdbuf(out);
  std::cerr.rdbuf(err);
  if (!ok) return std::nullopt;
  return ms / calls;
}

void usage() {
  std::printf(
      "bench_cli: start-up and per-plan cost of `meshmove validate` and `meshmove plan --offline`, against\n"
      "exec'ing /bin/true and `meshmove --version` in the same run.\n\n"
      "  --quick           3 repetitions, 10 plans, no callgrind: for smoke runs\n"
      "  --reps N          repetitions of each timed command (default 30); medians are shown\n"
      "  --plans N         plans for the many-plans cases (default 100)\n"
      "  --no-callgrind    skip the instruction counts (valgrind)\n"
      "  --meshmove PATH   the binary (default the build's meshmove)\n"
      "  --help            this text\n");
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
      cfg.reps = 3;
      cfg.plans = 10;
      cfg.callgrind = false;
    } else if (a == "--reps" && has_value && meshmove::bench::positive_int(argv[i + 1])) {
      cfg.reps = *meshmove::bench::positive_int(argv[++i]);
    } else if (a == "--plans" && has_value && meshmove::bench::positive_int(argv[i + 1])) {
      cfg.plans = std::max(2, *meshmove::bench::positive_int(argv[++i]));
    } else if (a == "--no-callgrind") {
      cfg.callgrind = false;
    } else if (a == "--meshmove" && has_value) {
      cfg.meshmove = argv[++i];
    } else {
      std::fprintf(stderr, "bench_cli: unknown or incomplete argument '%s' (see --help)\n", a.c_str());
      return 2;
    }
  }
  if (::access(cfg.meshmove.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "bench_cli: %s is not an executable (build the meshmove target, or --meshmove)\n",
                 cfg.meshmove.c_str());
    return 1;
  }
  std::ifstream in(cfg.plan_source);
  std::stringstream source;
  source << in.rdbuf();
  const std::string text = source.str();
  const std::string name_line = "  name: apitier-to-kube";
  if (text.find(name_line) == std::string::npos) {
    std::fprintf(stderr, "bench_cli: %s has no '%s' line to vary\n", cfg.plan_source.c_str(),
                 name_line.c_str());
    return 1;
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/meshmove-bench-cli-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    std::fprintf(stderr, "bench_cli: cannot create a temporary directory\n");
    return 1;
  }
  std::vector<std::string> files;
  for (int i = 0; i < cfg.plans; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "apitier-to-kube-%03d", i);
    std::string plan = text;
    plan.replace(plan.find(name_line), name_line.size(), std::string("  name: ") + name);
    files.push_back(dir + "/" + name + ".yaml");
    std::ofstream(files.back()) << plan;
  }
  const std::string& mm = cfg.meshmove;
  std::vector<std::string> validate_many = {mm, "validate"};
  validate_many.insert(validate_many.end(), files.begin(), files.end());
  const std::vector<std::string> t_true = {"/bin/true"};
  const std::vector<std::string> version = {mm, "--version"};
  const std::vector<std::string> validate_one = {mm, "validate", files[0]};
  const std::vector<std::string> plan_one = {mm, "plan", "--offline", files[0]};
  std::vector<std::vector<std::string>> plan_each;
  for (const auto& f : files) plan_each.push_back({mm, "plan", "--offline", f});
  std::vector<std::vector<std::string>> validate_each;
  for (const auto& f : files) validate_each.push_back({mm, "validate", f});

  const int n = cfg.plans;
  const int few = std::max(1, cfg.reps / 10);
  std::printf(
      "bench_cli: %s, plans like plans/vm-to-kube.yaml; medians of %d runs (%d for the %d-invocation "
      "rows)\n\n",
      mm.c_str(), cfg.reps, few, n);
  const Timing true_t = time_commands({t_true}, cfg.reps);
  const Timing version_t = time_commands({version}, cfg.reps);
  const Timing v1 = time_commands({validate_one}, cfg.reps);
  const Timing vn = time_commands({validate_many}, cfg.reps);
  const Timing vn_each = time_commands(validate_each, few);
  const Timing p1 = time_commands({plan_one}, cfg.reps);
  const Timing pn_each = time_commands(plan_each, few);
  const auto p_in = in_process_ms({mm, "plan", "--offline", files[0]}, cfg.quick ? 10 : 200);
  const auto v_in = in_process_ms({mm, "validate", files[0]}, cfg.quick ? 10 : 200);
  for (const Timing* t : {&true_t, &version_t, &v1, &vn, &vn_each, &p1, &pn_each}) {
    if (!t->ok) {
      std::fprintf(stderr, "bench_cli: a command failed (run it by hand to see why)\n");
      std::filesystem::remove_all(dir);
      return 1;
    }
  }
  if (!p_in || !v_in) {
    std::fprintf(stderr, "bench_cli: an in-process run did not return 0\n");
    std::filesystem::remove_all(dir);
    return 1;
  }

  const std::string ns = std::to_string(n);
  std::vector<std::vector<std::string>> rows = {{"command", "wall ms", "CPU ms", "wall vs /bin/true"}};
  const auto row = [&](const std::string& what, const Timing& t) {
    rows.push_back({what, fixed(t.wall_ms, 2), fixed(t.cpu_ms, 2), ratio(t.wall_ms, true_t.wall_ms)});
  };
  row("/bin/true (exec baseline)", true_t);
  row("meshmove --version (start-up)", version_t);
  row("meshmove validate, 1 plan", v1);
  row("meshmove validate, " + ns + " plans in one invocation", vn);
  row("meshmove validate, " + ns + " invocations of 1 plan", vn_each);
  row("meshmove plan --offline, 1 plan", p1);
  row("meshmove plan --offline, " + ns + " invocations", pn_each);
  rows.push_back({"in process: cli::run(validate, 1 plan)", fixed(*v_in, 3), "-", "-"});
  rows.push_back({"in process: cli::run(plan --offline, 1 plan)", fixed(*p_in, 3), "-", "-"});
  meshmove::bench::print_table(rows);

  const double startup = version_t.wall_ms - true_t.wall_ms;
  const double v_marginal = (vn.wall_ms - v1.wall_ms) / (n - 1);
  std::printf("\nmeshmove's own start-up (--version minus /bin/true): %.2f ms; --version is %s /bin/true.\n",
              startup, ratio(version_t.wall_ms, true_t.wall_ms).c_str());
  std::printf(
      "validate: the first plan costs %.2f ms more than --version (first use of the parser: %s the marginal "
      "cost).\n",
      v1.wall_ms - version_t.wall_ms, ratio(v1.wall_ms - version_t.wall_ms, v_marginal).c_str());
  std::printf(
      "validate: marginal cost per plan %.3f ms in one invocation (%s meshmove's start-up; in process\n"
      "  %.3f ms); %s plans in one invocation take %s the time of %s invocations.\n",
      v_marginal, ratio(v_marginal, startup).c_str(), *v_in, ns.c_str(),
      ratio(vn.wall_ms, vn_each.wall_ms).c_str(), ns.c_str());
  std::printf(
      "plan --offline: takes one plan per invocation; marginal cost per plan %.3f ms in process\n"
      "  (%s meshmove's start-up), %.2f ms per invocation with start-up (%s --version).\n",
      *p_in, ratio(*p_in, startup).c_str(), pn_each.wall_ms / n,
      ratio(pn_each.wall_ms / n, version_t.wall_ms).c_str());

  if (cfg.callgrind && std::system("valgrind --version >/dev/null 2>&1") == 0) {
    std::printf(
        "\nInstruction counts (valgrind --tool=callgrind; repeatable, independent of machine load):\n");
    const auto i_true = instructions(t_true);
    const auto i_version = instructions(version);
    const auto i_v1 = instructions(validate_one);
    const auto i_vn = instructions(validate_many);
    const auto i_p1 = instructions(plan_one);
    std::vector<std::vector<std::string>> irows = {{"command", "instructions", "vs --version"}};
    const auto irow = [&](const std::string& what, std::optional<double> v) {
      irows.push_back({what, v ? fixed(*v, 0) : "-", ratio(v, i_version)});
    };
    irow("/bin/true", i_true);
    irow("meshmove --version", i_version);
    irow("meshmove validate, 1 plan", i_v1);
    irow("meshmove validate, " + ns + " plans", i_vn);
    irow("meshmove plan --offline, 1 plan", i_p1);
    meshmove::bench::print_table(irows);
    if (i_version && i_v1 && i_vn && i_p1) {
      const double per_plan = (*i_vn - *i_v1) / (n - 1);
      std::printf(
          "validate: marginal cost per plan %.0f instructions = %s the start-up (--version);\n"
          "plan --offline: %.0f instructions beyond start-up = %s the start-up.\n",
          per_plan, ratio(per_plan, i_version).c_str(), *i_p1 - *i_version,
          ratio(*i_p1 - *i_version, i_version).c_str());
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
