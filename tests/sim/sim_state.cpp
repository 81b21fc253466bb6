// Read-only views of the simulation: the /_sim/state document and the simulated dataplanes.
#include "tests/sim/simulation.hpp"

namespace meshmove::sim {
namespace {

double seconds(Millis t) { return static_cast<double>(t.count()) / 1000.0; }

}  // namespace

Json Simulation::state_json() const {
  Json services = Json::object();
  for (const ServiceState& svc : m_services) {
    Json weights = Json::object();
    Json requests = Json::object();
    Json errors = Json::object();
    Json instances = Json::object();
    for (const SubsetState& sub : svc.subsets) {
      weights[sub.name] = sub.weight_percent;
      requests[sub.name] = sub.totals.requests;
      errors[sub.name] = sub.totals.errors;
      instances[sub.name] = sub.active;
    }
    Json policy = Json::object();
    if (svc.policy.kind) {
      policy["kind"] = std::string(type_name(*svc.policy.kind));
      policy["name"] = svc.policy.name;
    } else {
      policy["kind"] = nullptr;
      policy["name"] = nullptr;
    }
    Json entry = Json::object();
    entry["policy"] = std::move(policy);
    entry["weights"] = std::move(weights);
    entry["requests"] = std::move(requests);
    entry["errors"] = std::move(errors);
    entry["rps"] = svc.rps;
    entry["instances"] = std::move(instances);
    entry["unrouted"] = svc.unrouted;
    services[svc.name] = std::move(entry);
  }
  Json fired = Json::array();
  for (const FiredEvent& f : m_fired) {
    Json e = Json::object();
    e["index"] = f.index;
    e["simTime"] = seconds(f.sim_time);
    e["description"] = f.description;
    fired.push_back(std::move(e));
  }
  Json control_plane = Json::object();
  control_plane["status"] = m_control_plane.status == 0 ? Json(nullptr) : Json(m_control_plane.status);
  control_plane["delaySeconds"] = seconds(m_control_plane.delay);
  control_plane["down"] = m_control_plane.down;
  Json out = Json::object();
  out["simTime"] = seconds(m_now);
  out["mesh"] = m_scenario.mesh;
  out["tagKey"] = m_scenario.tag_key;
  out["services"] = std::move(services);
  out["firedEvents"] = std::move(fired);
  out["controlPlane"] = std::move(control_plane);
  return out;
}

std::vector<DataplaneInfo> Simulation::dataplanes() const {
  std::vector<DataplaneInfo> out;
  for (const ServiceState& svc : m_services) {
    for (const SubsetState& sub : svc.subsets) {
      for (const std::uint32_t id : sub.instances) {
        const Instance& inst = m_instances[id];
        if (!inst.active) continue;
        DataplaneInfo dp;
        dp.name = inst.name;
        dp.service = svc.name;
        dp.subset = sub.name;
        for (std::size_t i = 0; i < inst.registered.size(); ++i) {
          InboundInfo inbound;
          inbound.port =
              15000 + static_cast<int>(i);  // the Envoy inbound listener; the app listens on servicePort
          inbound.service_port = svc.port;
          inbound.tags = {{"kuma.io/service", inst.registered[i]}, {m_scenario.tag_key, sub.name}};
          dp.inbounds.push_back(std::move(inbound));
        }
        out.push_back(std::move(dp));
      }
    }
  }
  return out;
}

}  // namespace meshmove::sim
