#pragma once
// One migration's world in process, on a virtual clock: the meshsim traffic model (tests/sim), a
// Prometheus that scrapes it every 15 s (SeriesStore per set), the routing policy a decider writes, and
// metrics outages. The engine's ports over it: SimClock (sleeping advances the world), SimControlPlane
// (writes a MeshHTTPRoute into the model) and, through FakePrometheus, the PromQL meshmove sends.
// Deterministic for a given scenario seed and scrape offset. Not thread-safe: one per run.
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "planner/clock.hpp"
#include "planner/control_plane.hpp"
#include "tests/bench/fake_prometheus.hpp"
#include "tests/bench/series_store.hpp"
#include "tests/sim/simulation.hpp"

namespace meshmove::bench {

struct MeshSetup {
  std::string service;
  std::string from;
  std::string to;
  std::string mesh = "default";
  std::string tag_key = "env";
  Millis scrape_interval{15000};
  Millis scrape_offset{7000};      // first scrape at this time; then every scrape_interval
  std::int64_t epoch_unix_ms = 0;  // the wall-clock instant of simulated time 0 (for the engine's clock)
};

// A metrics outage that starts `delay` after the to set first receives at least `after_weight`.
struct Outage {
  enum class Kind {
    NoScrapes,    // Prometheus scrapes nothing: queries over a range without two samples return nothing
    QueriesFail,  // Prometheus cannot be reached: every query fails
  };
  Kind kind = Kind::NoScrapes;
  int after_weight = 2500;  // basis points
  Millis delay{90000};
  Millis duration{60000};
};

// A policy write as the world saw it.
struct WeightChange {
  Millis at{0};
  int to_weight = 0;  // basis points
};

class SimMesh final : public SeriesSource {
 public:
  SimMesh(sim::Scenario scenario, MeshSetup setup);

  // Runs the traffic model up to simulated time `t` (never backwards), scraping on the way.
  void advance_to(Millis t);
  [[nodiscard]] Millis now() const { return m_now; }
  [[nodiscard]] std::int64_t epoch_unix_ms() const { return m_setup.epoch_unix_ms; }
  [[nodiscard]] const MeshSetup& setup() const { return m_setup; }

  // Routes `to_weight` basis points to the to set from the next tick on (a MeshHTTPRoute, validated by the
  // model like Kuma would).
  void set_weight(int to_weight);
  [[nodiscard]] int weight() const { return m_weight; }
  [[nodiscard]] const std::vector<WeightChange>& writes() const { return m_writes; }

  void add_outage(const Outage& o) { m_outages.push_back({o, std::nullopt}); }
  [[nodiscard]] bool queries_fail(Millis at) const;

  // increase() over (at - range, at] for the to set (or the from set), as Prometheus would answer.
  [[nodiscard]] std::optional<Increase> window(bool to_set, Millis range, Millis at) const;
  // SeriesSource: the same, addressed as PromQL does.
  planner::Result<std::optional<Increase>> window(const std::string& service, const std::string& subset,
                                                  Millis range, std::int64_t at_unix_ms) override;

  [[nodiscard]] const sim::Simulation& simulation() const { return m_sim; }
  // When the scenario event with this index fired (simulated time), if it did.
  [[nodiscard]] std::optional<Millis> fired_at(std::size_t event_index) const;
  // The to set's counters at the end of the tick in which that event fired.
  [[nodiscard]] std::optional<sim::Counters> to_counters_when_fired(std::size_t event_index) const;

 private:
  struct ActiveOutage {
    Outage spec;
    std::optional<Millis> start;
  };
  [[nodiscard]] bool scrape_blocked(Millis at) const;
  void run_ticks_to(Millis t);  // whole ticks only; the model's time never passes t

  sim::Simulation m_sim;
  MeshSetup m_setup;
  Millis m_now{0};
  Millis m_next_scrape{0};
  SeriesStore m_to_series;
  SeriesStore m_from_series;
  int m_weight = 0;
  std::vector<WeightChange> m_writes;
  std::vector<ActiveOutage> m_outages;
  std::string m_policy_name;
  std::size_t m_fired_seen = 0;
  std::vector<std::pair<std::size_t, sim::Counters>> m_fired_counters;
};

// The engine's clock over the world: sleeping advances the simulation. When the world reaches `horizon`,
// `stop` is set, and the engine ends its runners as interrupted.
class SimClock final : public planner::Clock {
 public:
  SimClock(SimMesh& mesh, Millis horizon, std::atomic<bool>& stop)
      : m_mesh(mesh), m_horizon(horizon), m_stop(stop) {}
  [[nodiscard]] planner::TimePoint now() const override;
  void sleep(planner::Duration d) override;

 private:
  SimMesh& m_mesh;
  Millis m_horizon;
  std::atomic<bool>& m_stop;
};

// The control plane over the world: one MeshHTTPRoute owned by meshmove, written into the model.
class SimControlPlane final : public planner::ControlPlane {
 public:
  explicit SimControlPlane(SimMesh& mesh) : m_mesh(mesh) {}
  planner::Result<planner::LiveRouting> read() override;
  planner::Result<planner::LiveRouting> write(const planner::PolicyWrite& w) override;
  planner::Result<planner::PreflightReport> preflight() override;
  [[nodiscard]] std::string render(const planner::PolicyWrite& w) const override;
  [[nodiscard]] std::string describe() const override { return "meshsim model in process"; }

 private:
  SimMesh& m_mesh;
  std::optional<planner::LiveRouting> m_live;
};

}  // namespace meshmove::bench
