#pragma once
// How `apply` shows what it does (planner::Reporter implementations):
//   LineReporter       timestamped lines (when the output is not a terminal)
//   JsonEventReporter  one JSON object per event and line (--log-format json)
//   LiveView           a live view on a terminal: step, weight bar, bake time left, each gate's latest
//                      value and verdict, redrawn every second
//   JUnitReport        a JUnit XML decision report (--report FILE): a testsuite per migration, a testcase
//                      per step with its gate evaluations
//   FanoutReporter     forwards to several
#include <atomic>
#include <iosfwd>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "planner/clock.hpp"
#include "planner/error.hpp"
#include "planner/reporter.hpp"

namespace meshmove::cli {

// One line for people, e.g. "wrote: step 2 of 7: 5% to kube-env (was 1%)".
std::string describe_event(const planner::Plan& plan, const planner::EngineEvent& e);
// "[#####---------------]" for basis points.
std::string weight_bar(int basis_points, int width);

class FanoutReporter final : public planner::Reporter {
 public:
  void add(planner::Reporter* r) {
    if (r != nullptr) m_reporters.push_back(r);
  }
  void report(const planner::Plan& plan, const planner::EngineEvent& e) override {
    for (auto* r : m_reporters) r->report(plan, e);
  }

 private:
  std::vector<planner::Reporter*> m_reporters;
};

class LineReporter final : public planner::Reporter {
 public:
  // `verbose`: also Waiting and Evaluated events with every gate.
  LineReporter(std::ostream& out, bool verbose) : m_out(out), m_verbose(verbose) {}
  void report(const planner::Plan& plan, const planner::EngineEvent& e) override;

 private:
  std::ostream& m_out;
  bool m_verbose;
  std::mutex m_mutex;
};

class JsonEventReporter final : public planner::Reporter {
 public:
  explicit JsonEventReporter(std::ostream& out) : m_out(out) {}
  void report(const planner::Plan& plan, const planner::EngineEvent& e) override;

 private:
  std::ostream& m_out;
  std::mutex m_mutex;
};

class LiveView final : public planner::Reporter {
 public:
  LiveView(std::ostream& out, planner::Clock& clock, bool color);
  ~LiveView() override;
  LiveView(const LiveView&) = delete;
  LiveView& operator=(const LiveView&) = delete;
  void report(const planner::Plan& plan, const planner::EngineEvent& e) override;
  // Stops the refresh thread and leaves the last view on screen.
  void stop();

 private:
  struct Row {
    const planner::Plan* plan = nullptr;
    planner::MigrationState state;
    std::string next;  // what happens next, e.g. "gates pass; baking at 25%"
    std::optional<planner::TimePoint> next_at;  // when, shown as a countdown
  };
  void draw_locked();
  std::ostream& m_out;
  planner::Clock& m_clock;
  bool m_color;
  std::mutex m_mutex;
  std::map<std::string, Row> m_rows;
  std::vector<std::string> m_order;
  int m_drawn_lines = 0;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

class JUnitReport final : public planner::Reporter {
 public:
  void report(const planner::Plan& plan, const planner::EngineEvent& e) override;
  // Writes the report (atomically: temp file and rename).
  planner::Status write(const std::string& path) const;
  [[nodiscard]] std::string xml() const;

 private:
  struct Case {
    std::string name;
    planner::TimePoint start{};
    planner::TimePoint end{};
    std::vector<std::string> output;
    std::string failure;
    std::string error;
    std::string skipped;
  };
  struct Suite {
    std::string name;
    planner::TimePoint start{};
    std::vector<Case> cases;
  };
  Case& current(const planner::Plan& plan, const planner::EngineEvent& e);
  mutable std::mutex m_mutex;
  std::vector<Suite> m_suites;
};

}  // namespace meshmove::cli
