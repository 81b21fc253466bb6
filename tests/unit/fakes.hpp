#pragma once
// Recording fakes for the engine's ports (STYLE.md rule 8): they record what was asked of them, and
// tests assert on the records.
#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backends/memory_state_store.hpp"
#include "planner/control_plane.hpp"
#include "planner/metrics_source.hpp"
#include "planner/reporter.hpp"
#include "planner/state_store.hpp"

namespace meshmove::testsupport {

// A control plane holding one policy in memory.
class FakeControlPlane final : public planner::ControlPlane {
 public:
  struct Write {
    int to_weight;
    int step;
    std::string migration;
  };
  std::vector<Write> writes;  // every successful write, in order
  planner::LiveRouting live;  // what read() returns
  int from_instances = 2;
  int to_instances = 2;
  std::optional<planner::Error> read_error;   // next reads fail with this
  std::optional<planner::Error> write_error;  // next writes fail with this
  // Asked before every write lands: an error fails that write (e.g. Unavailable until some time).
  std::function<std::optional<planner::Error>(const planner::PolicyWrite&)> write_gate;
  std::vector<planner::PolicyWrite> attempts;  // every write asked for, failed ones included
  // Called after a write lands (before the read-back), e.g. to simulate a crash in a test.
  std::function<void(const Write&)> after_write;
  int reads = 0;

  FakeControlPlane() {
    live.kind = "MeshHTTPRoute";
    live.name = "meshmove-test";
  }
  planner::Result<planner::LiveRouting> read() override {
    ++reads;
    if (read_error) return *read_error;
    return live;
  }
  planner::Result<planner::LiveRouting> write(const planner::PolicyWrite& w) override {
    attempts.push_back(w);
    if (write_error) return *write_error;
    if (write_gate) {
      if (auto e = write_gate(w)) return *e;
    }
    live.ownership = planner::Ownership::Ours;
    live.owner = w.migration;
    live.to_weight = w.to_weight;
    live.step = w.step;
    writes.push_back({w.to_weight, w.step, w.migration});
    if (after_write) after_write(writes.back());
    return live;
  }
  planner::Result<planner::PreflightReport> preflight() override {
    planner::PreflightReport r;
    r.from_instances = from_instances;
    r.to_instances = to_instances;
    return r;
  }
  [[nodiscard]] std::string render(const planner::PolicyWrite& w) const override {
    return "{\"to\": " + std::to_string(w.to_weight) + "}";
  }
  [[nodiscard]] std::string describe() const override { return "fake control plane"; }
  // Someone else changes the weight behind meshmove's back.
  void external_change(int to_weight) { live.to_weight = to_weight; }
};

// Gates played back from a script: verdict_for(weight basis points, seconds since the window start).
class ScriptedMetrics final : public planner::MetricsSource {
 public:
  struct Call {
    planner::TimePoint window_start;
    planner::TimePoint now;
    int to_weight;
  };
  std::vector<Call> calls;
  std::function<planner::Verdict(int to_weight, planner::TimePoint window_start, planner::TimePoint now)> script =
      [](int, planner::TimePoint, planner::TimePoint) { return planner::Verdict::Pass; };
  // What preflight() answers, and when it was asked.
  planner::Status preflight_answer = planner::ok_status();
  std::vector<planner::TimePoint> preflights;

  planner::Status preflight(const planner::Plan&, planner::TimePoint now) override {
    preflights.push_back(now);
    return preflight_answer;
  }

  std::vector<planner::GateEvaluation> evaluate(const planner::Plan& plan, planner::TimePoint window_start,
                                                planner::TimePoint now, int to_weight) override {
    calls.push_back({window_start, now, to_weight});
    std::vector<planner::GateEvaluation> out;
    for (const auto& slo : plan.gates.slos) {
      planner::GateEvaluation g;
      g.slo = slo.name;
      g.set = "to";
      g.verdict = script(to_weight, window_start, now);
      g.value = 0.001;
      g.bound = slo.max.value_or(0);
      g.samples = 1000;
      g.reason = std::string("scripted ") + planner::to_string(g.verdict);
      out.push_back(g);
    }
    return out;
  }
};

class RecordingReporter final : public planner::Reporter, public planner::Notifier {
 public:
  std::vector<planner::EngineEvent::Kind> kinds;
  std::vector<std::string> messages;
  std::vector<planner::EngineEvent::Kind> notified;
  void report(const planner::Plan&, const planner::EngineEvent& e) override {
    kinds.push_back(e.kind);
    messages.push_back(std::string(planner::to_string(e.kind)) + ": " + e.message);
  }
  void notify(const planner::Plan&, const planner::EngineEvent& e) override { notified.push_back(e.kind); }
  [[nodiscard]] std::size_t count(planner::EngineEvent::Kind k) const {
    return static_cast<std::size_t>(std::count(kinds.begin(), kinds.end(), k));
  }
  [[nodiscard]] std::string log() const {
    std::string out;
    for (const auto& m : messages) out += m + "\n";
    return out;
  }
};

// State in memory (the production in-memory store), with a helper to read the journal's transitions.
class MemoryStateStore final : public planner::StateStore {
 public:
  backends::MemoryStateStore inner;
  std::map<std::string, planner::MigrationState> states;  // a copy of every saved state, for assertions

  planner::Result<std::unique_ptr<planner::StateLock>> lock(const std::string& m) override { return inner.lock(m); }
  planner::Result<std::optional<planner::MigrationState>> load(const std::string& m) override { return inner.load(m); }
  planner::Status save(const planner::MigrationState& s) override {
    states[s.migration] = s;
    return inner.save(s);
  }
  planner::Status append(const std::string& m, const nlohmann::json& e) override { return inner.append(m, e); }
  planner::Result<std::vector<nlohmann::json>> journal(const std::string& m) override { return inner.journal(m); }
  planner::Result<std::vector<std::string>> migrations() override { return inner.migrations(); }
  planner::Status post_request(const std::string& m, const nlohmann::json& r) override { return inner.post_request(m, r); }
  planner::Result<std::optional<nlohmann::json>> take_request(const std::string& m) override {
    return inner.take_request(m);
  }
  [[nodiscard]] std::string location(const std::string& m) const override { return inner.location(m); }
  [[nodiscard]] std::vector<nlohmann::json> transitions(const std::string& m) {
    std::vector<nlohmann::json> out;
    for (const auto& e : *inner.journal(m)) {
      if (e.value("type", "") == "transition") out.push_back(e);
    }
    return out;
  }
};

}  // namespace meshmove::testsupport
