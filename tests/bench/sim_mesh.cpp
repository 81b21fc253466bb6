#include "tests/bench/sim_mesh.hpp"

#include <stdexcept>

#include "planner/plan.hpp"

namespace meshmove::bench {

SimMesh::SimMesh(sim::Scenario scenario, MeshSetup setup)
    : m_sim(std::move(scenario)), m_setup(std::move(setup)), m_next_scrape(m_setup.scrape_offset) {
  m_policy_name = planner::default_policy_name(m_setup.service);
}

bool SimMesh::scrape_blocked(Millis at) const {
  for (const auto& o : m_outages) {
    if (o.spec.kind == Outage::Kind::NoScrapes && o.start && at >= *o.start &&
        at < *o.start + o.spec.duration) {
      return true;
    }
  }
  return false;
}

bool SimMesh::queries_fail(Millis at) const {
  for (const auto& o : m_outages) {
    if (o.spec.kind == Outage::Kind::QueriesFail && o.start && at >= *o.start &&
        at < *o.start + o.spec.duration) {
      return true;
    }
  }
  return false;
}

void SimMesh::run_ticks_to(Millis t) {
  const Millis tick = m_sim.scenario().tick;
  while (m_sim.now() + tick <= t) {
    m_sim.run_tick();
    const auto& fired = m_sim.fired_events();
    for (std::size_t i = m_fired_seen; i < fired.size(); ++i) {
      m_fired_counters.emplace_back(fired[i].index, m_sim.subset_counters(m_setup.service, m_setup.to));
    }
    m_fired_seen = fired.size();
  }
}

void SimMesh::advance_to(Millis t) {
  while (m_next_scrape <= t) {
    run_ticks_to(m_next_scrape);
    m_now = m_next_scrape;
    if (!scrape_blocked(m_now)) {
      m_to_series.add(sample_of(m_sim.subset_counters(m_setup.service, m_setup.to), m_now));
      m_from_series.add(sample_of(m_sim.subset_counters(m_setup.service, m_setup.from), m_now));
    }
    m_next_scrape += m_setup.scrape_interval;
  }
  if (t > m_now) {
    run_ticks_to(t);
    m_now = t;
  }
}

std::optional<sim::Counters> SimMesh::to_counters_when_fired(std::size_t event_index) const {
  for (const auto& [index, counters] : m_fired_counters) {
    if (index == event_index) return counters;
  }
  return std::nullopt;
}

void SimMesh::set_weight(int to_weight) {
  const std::string& svc = m_setup.service;
  sim::Json refs = sim::Json::array();
  const auto ref = [&](const std::string& subset, int weight) {
    if (weight <= 0) return;  // a weight of 0 is an absent backendRef (DESIGN.md §4)
    refs.push_back({{"kind", "MeshServiceSubset"},
                    {"name", svc},
                    {"tags", {{m_setup.tag_key, subset}}},
                    {"weight", weight}});
  };
  ref(m_setup.from, planner::k_full_weight - to_weight);
  ref(m_setup.to, to_weight);
  sim::Json doc = {{"type", "MeshHTTPRoute"},
                   {"mesh", m_setup.mesh},
                   {"name", m_policy_name},
                   {"labels", {{"meshmove.io/migration", "bench"}}},
                   {"spec",
                    {{"targetRef", {{"kind", "Mesh"}}},
                     {"to",
                      {{{"targetRef", {{"kind", "MeshService"}, {"name", svc}}},
                        {"rules",
                         {{{"matches", {{{"path", {{"type", "PathPrefix"}, {"value", "/"}}}}}},
                           {"default", {{"backendRefs", refs}}}}}}}}}}}};
  const sim::PolicyCheck check = m_sim.apply_policy(doc);
  if (!check.ok()) {
    throw std::logic_error("the simulated mesh refused the bench's MeshHTTPRoute: " +
                           (check.violations.empty()
                                ? check.bad_request
                                : check.violations[0].field + ": " + check.violations[0].reason));
  }
  m_weight = to_weight;
  m_writes.push_back({m_now, to_weight});
  for (auto& o : m_outages) {
    if (!o.start && to_weight >= o.spec.after_weight) o.start = m_now + o.spec.delay;
  }
}

std::optional<Increase> SimMesh::window(bool to_set, Millis range, Millis at) const {
  return (to_set ? m_to_series : m_from_series).increase(range, at);
}

planner::Result<std::optional<Increase>> SimMesh::window(const std::string& service,
                                                         const std::string& subset, Millis range,
                                                         std::int64_t at_unix_ms) {
  const Millis at{at_unix_ms - m_setup.epoch_unix_ms};
  if (queries_fail(at)) {
    return planner::make_error(
        planner::ErrorKind::Unavailable,
        "POST http://prometheus.bench/api/v1/query: connection refused (simulated outage)");
  }
  if (service != m_setup.service || (subset != m_setup.to && subset != m_setup.from)) {
    return std::optional<Increase>();
  }
  return window(subset == m_setup.to, range, at);
}

std::optional<Millis> SimMesh::fired_at(std::size_t event_index) const {
  for (const auto& e : m_sim.fired_events()) {
    if (e.index == event_index) return e.sim_time;
  }
  return std::nullopt;
}

planner::TimePoint SimClock::now() const {
  return planner::TimePoint{planner::Duration{m_mesh.epoch_unix_ms() + m_mesh.now().count()}};
}

void SimClock::sleep(planner::Duration d) {
  m_mesh.advance_to(m_mesh.now() + d);
  if (m_mesh.now() >= m_horizon) m_stop.store(true);
}

planner::Result<planner::LiveRouting> SimControlPlane::read() {
  if (m_live) return *m_live;
  planner::LiveRouting absent;
  absent.kind = "MeshHTTPRoute";
  return absent;
}

planner::Result<planner::LiveRouting> SimControlPlane::write(const planner::PolicyWrite& w) {
  m_mesh.set_weight(w.to_weight);
  planner::LiveRouting live;
  live.ownership = planner::Ownership::Ours;
  live.kind = "MeshHTTPRoute";
  live.owner = w.migration;
  live.to_weight = w.to_weight;
  live.step = w.step;
  m_live = live;
  return live;
}

planner::Result<planner::PreflightReport> SimControlPlane::preflight() {
  planner::PreflightReport r;
  const MeshSetup& s = m_mesh.setup();
  r.from_instances = m_mesh.simulation().active_instances(s.service, s.from);
  r.to_instances = m_mesh.simulation().active_instances(s.service, s.to);
  return r;
}

std::string SimControlPlane::render(const planner::PolicyWrite& w) const {
  return "{\"to\": " + std::to_string(w.to_weight) + "}";
}

}  // namespace meshmove::bench
