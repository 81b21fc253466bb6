#include "tests/sim/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "tests/sim/kuma_names.hpp"

namespace meshmove::sim {
namespace {

constexpr std::string_view k_service_tag = "kuma.io/service";
constexpr std::uint64_t k_per_request_limit = 32;  // above this many requests, latencies are drawn per bucket

// Whole-millisecond thresholds equivalent to the bounds: a whole value v is <= 0.5 exactly when v <= 0.
constexpr std::array<std::uint64_t, k_latency_bounds_ms.size()> k_thresholds = [] {
  std::array<std::uint64_t, k_latency_bounds_ms.size()> t{};
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::uint64_t>(k_latency_bounds_ms[i]);
  return t;
}();

std::size_t bucket_of(std::uint64_t latency_ms) {
  return static_cast<std::size_t>(std::lower_bound(k_thresholds.begin(), k_thresholds.end(), latency_ms) -
                                  k_thresholds.begin());
}

}  // namespace

void Counters::add(const Counters& other) {
  requests += other.requests;
  errors += other.errors;
  for (std::size_t b = 0; b < k_bucket_count; ++b) buckets[b] += other.buckets[b];
  latency_sum_ms += other.latency_sum_ms;
}

Simulation::Simulation(Scenario scenario) : m_scenario(std::move(scenario)), m_rng(m_scenario.seed) {
  m_tag_label = sanitize_label_name(m_scenario.tag_key);
  m_tag_plural_label = sanitize_label_name(m_scenario.tag_key + "s");
  for (std::uint32_t s = 0; s < m_scenario.services.size(); ++s) {
    const ServiceSpec& spec = m_scenario.services[s];
    ServiceState svc;
    svc.name = spec.name;
    svc.port = spec.port;
    svc.rps = spec.rps;
    for (const SubsetSpec& sub : spec.subsets) {
      SubsetState state;
      state.name = sub.name;
      state.service_name = sub.service_name;
      state.error_rate = sub.error_rate;
      set_latency(state, sub.latency);
      svc.subsets.push_back(std::move(state));
    }
    m_services.push_back(std::move(svc));
    for (std::uint32_t j = 0; j < spec.subsets.size(); ++j) set_instances(s, j, spec.subsets[j].instances);
  }
  for (const EventSpec& e : m_scenario.events) m_events.push_back({e, m_next_event_index++, false});
  recompute_routing();
}

void Simulation::set_latency(SubsetState& subset, const Latency& latency) {
  subset.latency =
      LogNormal::fit(static_cast<double>(latency.median.count()), static_cast<double>(latency.p99.count()));
  // Bucket b holds whole-ms values in (t[b-1], t[b]], i.e. real latencies in [t[b-1] + 1, t[b] + 1).
  double previous_cdf = 0;
  double lower = 0;
  for (std::size_t b = 0; b < k_bucket_count; ++b) {
    const bool last = b + 1 == k_bucket_count;
    const double upper = last ? HUGE_VAL : static_cast<double>(k_thresholds[b]) + 1.0;
    const double cdf = last ? 1.0 : subset.latency.cdf(upper);
    const double p = std::max(0.0, cdf - previous_cdf);
    subset.bucket_p[b] = p;
    double mean = lower;
    if (p > 1e-300) mean = subset.latency.partial_mean(lower, upper) / p - 0.5;  // flooring lowers by ~0.5 ms
    const double highest = last ? HUGE_VAL : upper - 1.0;
    subset.bucket_mean[b] = std::clamp(mean, lower, highest);
    previous_cdf = cdf;
    lower = upper;
  }
}

void Simulation::set_instances(std::uint32_t s, std::uint32_t j, int count) {
  ServiceState& svc = m_services[s];
  SubsetState& sub = svc.subsets[j];
  while (static_cast<int>(sub.instances.size()) < count) {
    Instance inst;
    inst.service = s;
    inst.subset = j;
    inst.ordinal = static_cast<int>(sub.instances.size()) + 1;
    inst.active = false;
    inst.name = dataplane_name(svc.name, sub.name, inst.ordinal);
    inst.registered.push_back(svc.name);
    if (!sub.service_name.empty()) inst.registered.push_back(sub.service_name);
    // Kuma's MADS (pkg/mads/util.go, DataplaneLabels) labels a target with every dataplane tag: the
    // singular label takes the first of the tag's values in sorted order (MultiValueTagSet.Values sorts
    // them), and the pluralised label lists them all as ",v1,v2,".
    std::vector<std::string> names = inst.registered;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::string plural = ",";
    for (const auto& n : names) plural += n + ",";
    inst.labels = "dataplane=\"" + escape_label_value(inst.name) + "\"," + m_tag_label + "=\"" +
                  escape_label_value(sub.name) + "\",envoy_cluster_name=\"localhost_" +
                  std::to_string(svc.port) + "\"," + m_tag_plural_label + "=\"," +
                  escape_label_value(sub.name) + ",\",kuma_io_service=\"" +
                  escape_label_value(names.front()) + "\",kuma_io_services=\"" + escape_label_value(plural) +
                  "\",mesh=\"" + escape_label_value(m_scenario.mesh) + "\"";
    sub.instances.push_back(static_cast<std::uint32_t>(m_instances.size()));
    m_instances.push_back(std::move(inst));
  }
  for (std::size_t k = 0; k < sub.instances.size(); ++k) {
    m_instances[sub.instances[k]].active = static_cast<int>(k) < count;
  }
  sub.active = count;
  m_routing_dirty = true;
}

bool Simulation::instance_matches(const Instance& inst, const std::string& registered_name,
                                  const std::map<std::string, std::string>& tags) const {
  const std::string& subset_name = m_services[inst.service].subsets[inst.subset].name;
  for (const auto& [key, value] : tags) {
    if (key == k_service_tag) {
      if (value != "*" && value != registered_name) return false;
    } else if (key == m_scenario.tag_key) {
      if (value != "*" && value != subset_name) return false;
    } else {
      return false;  // simulated dataplanes carry no other tags
    }
  }
  return true;
}

std::vector<std::uint32_t> Simulation::resolve(const Backend& backend) const {
  std::vector<std::uint32_t> out;
  auto registered_under = [&](const std::string& name) -> const std::vector<std::uint32_t>* {
    const auto it = m_by_name.find(name);
    return it == m_by_name.end() ? nullptr : &it->second;
  };
  switch (backend.kind) {
    case Backend::Kind::MeshService:
      if (const auto* ids = registered_under(backend.name)) out = *ids;
      break;
    case Backend::Kind::MeshServiceSubset:
      if (const auto* ids = registered_under(backend.name)) {
        for (const auto id : *ids) {
          if (instance_matches(m_instances[id], backend.name, backend.tags)) out.push_back(id);
        }
      }
      break;
    case Backend::Kind::Tags: {
      const auto it = backend.tags.find(std::string(k_service_tag));
      const std::string service = it == backend.tags.end() ? std::string() : it->second;
      for (std::uint32_t id = 0; id < m_instances.size(); ++id) {
        const Instance& inst = m_instances[id];
        if (!inst.active) continue;
        for (const auto& name : inst.registered) {
          if ((service == "*" || service == name) && instance_matches(inst, name, backend.tags)) {
            out.push_back(id);
            break;
          }
        }
      }
      break;
    }
    case Backend::Kind::Unresolvable:
      break;
  }
  return out;
}

void Simulation::recompute_routing() {
  m_by_name.clear();
  for (std::uint32_t id = 0; id < m_instances.size(); ++id) {
    if (!m_instances[id].active) continue;
    for (const auto& name : m_instances[id].registered) m_by_name[name].push_back(id);
  }
  // The candidate rules of every destination service, per kind, in policy-name order.
  struct Candidate {
    const Policy* policy;
    const RouteRule* rule;
  };
  std::map<std::string, std::array<std::vector<Candidate>, 3>> candidates;
  for (const auto& [key, policy] : m_policies) {
    for (const RouteRule& rule : policy.rules) {
      candidates[rule.service][static_cast<std::size_t>(policy.kind)].push_back({&policy, &rule});
    }
  }
  // Kuma 2.x's order among routes of one kind for the service's traffic:
  //   - MeshHTTPRoute, MeshTCPRoute (pkg/plugins/policies/core/rules/sort.go, SortByTargetRefV2; the
  //     "How policies are combined" table of the policies docs): the more specific top-level targetRef,
  //     then (all equal in meshsim: one zone, no roles) origin and policy role, then the name in INVERTED
  //     lexicographic order, i.e. the smaller name has priority. Rules with equal matches merge with the
  //     higher-priority `default` on top, so a policy with no rule for GET / does not decide it;
  //   - TrafficRoute (pkg/core/policy, SelectConnectionPolicies): an exact destination over "*", then the
  //     one created later, then the smaller name (sorted by name; only a strictly later one replaces).
  auto better = [](const Candidate& c, const Candidate* best) {
    if (best == nullptr) return true;
    if (c.rule->decides != best->rule->decides) return c.rule->decides;
    const bool c_exact = c.rule->service != "*";
    const bool best_exact = best->rule->service != "*";
    if (c_exact != best_exact) return c_exact;
    if (c.policy->kind == PolicyKind::TrafficRoute) {
      if (c.policy->created != best->policy->created) return c.policy->created > best->policy->created;
    } else if (c.policy->specificity != best->policy->specificity) {
      return c.policy->specificity > best->policy->specificity;
    }
    return c.policy->name < best->policy->name;
  };
  for (std::uint32_t s = 0; s < m_services.size(); ++s) {
    ServiceState& svc = m_services[s];
    const Candidate* best = nullptr;
    const auto own = candidates.find(svc.name);
    const auto wildcard = candidates.find("*");
    for (std::size_t kind = 0; kind < 3 && best == nullptr;
         ++kind) {  // MeshHTTPRoute > MeshTCPRoute > TrafficRoute
      if (wildcard != candidates.end()) {
        for (const Candidate& c : wildcard->second[kind]) best = better(c, best) ? &c : best;
      }
      if (own != candidates.end()) {
        for (const Candidate& c : own->second[kind]) best = better(c, best) ? &c : best;
      }
    }
    svc.route.clear();
    svc.policy = {};
    if (best != nullptr) svc.policy = {best->policy->kind, best->policy->name};
    if (best != nullptr && best->rule->has_backends) {
      for (const Backend& b : best->rule->backends) svc.route.push_back({b.weight, resolve(b), 0});
    } else {
      RouteEntry all;
      all.weight = 1;
      if (const auto it = m_by_name.find(svc.name); it != m_by_name.end()) all.endpoints = it->second;
      svc.route.push_back(std::move(all));
    }
    svc.route_weight = 0;
    for (const auto& e : svc.route) svc.route_weight += e.weight;
    for (std::uint32_t j = 0; j < svc.subsets.size(); ++j) {
      double share = 0;
      for (const auto& e : svc.route) {
        if (e.endpoints.empty() || svc.route_weight == 0) continue;
        const auto in_subset = std::count_if(e.endpoints.begin(), e.endpoints.end(), [&](std::uint32_t id) {
          return m_instances[id].service == s && m_instances[id].subset == j;
        });
        share += static_cast<double>(e.weight) / static_cast<double>(svc.route_weight) *
                 static_cast<double>(in_subset) / static_cast<double>(e.endpoints.size());
      }
      svc.subsets[j].weight_percent = 100.0 * share;
    }
  }
  m_routing_dirty = false;
}

PolicyCheck Simulation::apply_policy(const Json& doc) {
  const auto type = doc.is_object() && doc.contains("type") && doc["type"].is_string()
                        ? kind_from_type(doc["type"].get<std::string>())
                        : std::nullopt;
  PolicyCheck check = check_policy(type.value_or(PolicyKind::MeshHTTPRoute), doc);
  if (!check.ok()) return check;
  if (!check.policy->mesh.empty() && check.policy->mesh != m_scenario.mesh) {
    check.violations.push_back({"mesh", "mesh of name " + check.policy->mesh + " is not found"});
    check.policy.reset();
    return check;
  }
  set_policy(*check.policy);
  return check;
}

void Simulation::set_policy(Policy policy) {
  auto key = std::make_pair(policy.kind, policy.name);
  const auto existing = m_policies.find(key);
  policy.created = existing != m_policies.end() ? existing->second.created : ++m_policies_created;
  m_policies[key] = std::move(policy);
  m_routing_dirty = true;
}

bool Simulation::delete_policy(PolicyKind kind, std::string_view name) {
  const bool erased = m_policies.erase({kind, std::string(name)}) > 0;
  m_routing_dirty = m_routing_dirty || erased;
  return erased;
}

void Simulation::inject_event(EventSpec event) {
  m_events.push_back({std::move(event), m_next_event_index++, false});
}

void Simulation::advance(Millis duration) {
  m_pending_time += duration;
  while (m_pending_time >= m_scenario.tick) {
    m_pending_time -= m_scenario.tick;
    run_tick();
  }
}

void Simulation::fire(PendingEvent& event) {
  event.fired = true;
  const EventSpec& e = event.spec;
  if (e.set) {
    for (std::uint32_t s = 0; s < m_services.size(); ++s) {
      ServiceState& svc = m_services[s];
      if (svc.name != e.service) continue;
      if (e.set->rps) svc.rps = *e.set->rps;
      for (std::uint32_t j = 0; j < svc.subsets.size(); ++j) {
        SubsetState& sub = svc.subsets[j];
        if (sub.name != e.subset) continue;
        if (e.set->error_rate) sub.error_rate = *e.set->error_rate;
        if (e.set->latency) set_latency(sub, *e.set->latency);
        if (e.set->instances) set_instances(s, j, *e.set->instances);
      }
    }
  }
  if (e.control_plane) m_windows.push_back({m_now, m_now + e.control_plane->duration, *e.control_plane});
  m_fired.push_back({event.index, m_now, describe_event(e)});
}

void Simulation::fire_due_events() {
  for (PendingEvent& ev : m_events) {
    if (ev.fired) continue;
    const EventSpec& e = ev.spec;
    bool due = false;
    if (e.at) {
      due = *e.at <= m_now;
    } else if (e.when_weight) {
      due = weight_percent(e.service, e.when_weight->subset) + 1e-9 >= e.when_weight->at_least;
    } else {
      due = true;
    }
    if (due) fire(ev);
  }
  std::erase_if(m_windows, [&](const ControlPlaneWindow& w) { return w.end <= m_now; });
  m_control_plane = {};
  for (const ControlPlaneWindow& w : m_windows) {  // later events override earlier ones of the same sort
    if (w.start > m_now) continue;
    if (w.change.status) m_control_plane.status = *w.change.status;
    if (w.change.delay) m_control_plane.delay = *w.change.delay;
    if (w.change.down) m_control_plane.down = true;
  }
}

void Simulation::generate(Instance& inst) {
  const std::uint64_t n = inst.pending;
  inst.pending = 0;
  SubsetState& sub = m_services[inst.service].subsets[inst.subset];
  Counters delta;
  delta.requests = n;
  delta.errors = m_rng.binomial(n, sub.error_rate);
  if (n <= k_per_request_limit) {
    for (std::uint64_t i = 0; i < n; ++i) {
      const double x = std::min(sub.latency.sample(m_rng), 1e12);
      const auto ms = static_cast<std::uint64_t>(x);
      delta.buckets[bucket_of(ms)] += 1;
      delta.latency_sum_ms += ms;
    }
  } else {
    std::uint64_t remaining = n;
    double remaining_p = 1.0;
    for (std::size_t b = 0; b < k_bucket_count && remaining > 0; ++b) {
      const double p = remaining_p > 0 ? std::clamp(sub.bucket_p[b] / remaining_p, 0.0, 1.0) : 1.0;
      const std::uint64_t k = (b + 1 == k_bucket_count) ? remaining : m_rng.binomial(remaining, p);
      delta.buckets[b] += k;
      delta.latency_sum_ms +=
          static_cast<std::uint64_t>(std::llround(static_cast<double>(k) * sub.bucket_mean[b]));
      remaining -= k;
      remaining_p -= sub.bucket_p[b];
    }
  }
  inst.counters.add(delta);
  sub.totals.add(delta);
}

void Simulation::run_tick() {
  if (m_routing_dirty) recompute_routing();
  fire_due_events();
  if (m_routing_dirty) recompute_routing();
  const double tick_seconds = static_cast<double>(m_scenario.tick.count()) / 1000.0;
  for (ServiceState& svc : m_services) {
    const double offered = svc.rps * tick_seconds + svc.carry;
    const auto n = static_cast<std::uint64_t>(std::floor(offered));
    svc.carry = offered - static_cast<double>(n);
    if (n == 0) continue;
    if (svc.route_weight == 0) {
      svc.unrouted += n;
      continue;
    }
    std::uint64_t remaining = n;
    std::uint64_t remaining_weight = svc.route_weight;
    for (RouteEntry& e : svc.route) {
      if (remaining == 0) break;
      std::uint64_t k = 0;
      if (e.weight >= remaining_weight) {
        k = remaining;
      } else if (e.weight > 0) {
        k = m_rng.binomial(remaining, static_cast<double>(e.weight) / static_cast<double>(remaining_weight));
      }
      remaining -= k;
      remaining_weight -= e.weight;
      if (k == 0) continue;
      if (e.endpoints.empty()) {
        svc.unrouted += k;
        continue;
      }
      const std::size_t count = e.endpoints.size();
      const std::uint64_t base = k / count;
      const std::uint64_t extra = k % count;
      for (std::size_t i = 0; i < count; ++i) {
        const std::size_t pos = (e.cursor + i) % count;
        m_instances[e.endpoints[pos]].pending += base + (i < extra ? 1 : 0);
      }
      e.cursor = (e.cursor + extra) % count;
    }
  }
  for (Instance& inst : m_instances) {
    if (inst.pending > 0) generate(inst);
  }
  m_now += m_scenario.tick;
}

const Simulation::ServiceState& Simulation::service(std::string_view name) const {
  for (const auto& svc : m_services) {
    if (svc.name == name) return svc;
  }
  throw std::out_of_range("meshsim: no service \"" + std::string(name) + "\"");
}

const Simulation::SubsetState& Simulation::subset(std::string_view service_name,
                                                  std::string_view name) const {
  for (const auto& sub : service(service_name).subsets) {
    if (sub.name == name) return sub;
  }
  throw std::out_of_range("meshsim: no subset \"" + std::string(name) + "\" in " + std::string(service_name));
}

Counters Simulation::subset_counters(std::string_view service_name, std::string_view name) const {
  return subset(service_name, name).totals;
}

double Simulation::weight_percent(std::string_view service_name, std::string_view name) const {
  return subset(service_name, name).weight_percent;
}

EffectivePolicy Simulation::policy_in_effect(std::string_view service_name) const {
  return service(service_name).policy;
}

std::uint64_t Simulation::unrouted(std::string_view service_name) const {
  return service(service_name).unrouted;
}

int Simulation::active_instances(std::string_view service_name, std::string_view name) const {
  return subset(service_name, name).active;
}

}  // namespace meshmove::sim
