#pragma once
// A control plane decorator for --dry-run and --shadow: reads and pre-flight go to the real control
// plane; writes are recorded and never sent, and later reads show the simulated policy.
#include <functional>
#include <optional>
#include <string>

#include "planner/control_plane.hpp"

namespace meshmove::backends {

class SimulatedControlPlane final : public planner::ControlPlane {
 public:
  // `on_write` is told about every write that would have been made. `real` must outlive this.
  SimulatedControlPlane(planner::ControlPlane& real, std::function<void(const planner::PolicyWrite&)> on_write)
      : m_real(real), m_on_write(std::move(on_write)) {}

  planner::Result<planner::LiveRouting> read() override {
    if (m_simulated) return *m_simulated;
    return m_real.read();
  }
  planner::Result<planner::LiveRouting> write(const planner::PolicyWrite& w) override {
    auto base = read();
    planner::LiveRouting live = base.ok() ? *base : planner::LiveRouting{};
    live.ownership = planner::Ownership::Ours;
    live.owner = w.migration;
    live.to_weight = w.to_weight;
    live.step = w.step;
    live.document = m_real.render(w);
    m_simulated = live;
    if (m_on_write) m_on_write(w);
    return live;
  }
  planner::Result<planner::PreflightReport> preflight() override { return m_real.preflight(); }
  [[nodiscard]] std::string render(const planner::PolicyWrite& w) const override { return m_real.render(w); }
  [[nodiscard]] std::string describe() const override { return m_real.describe() + " (simulated: nothing is written)"; }

 private:
  planner::ControlPlane& m_real;
  std::function<void(const planner::PolicyWrite&)> m_on_write;
  std::optional<planner::LiveRouting> m_simulated;
};

}  // namespace meshmove::backends
