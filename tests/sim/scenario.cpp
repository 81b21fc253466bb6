#include "tests/sim/scenario.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>

#include "planner/duration.hpp"
#include "tests/sim/kuma_names.hpp"
#include "tests/sim/yaml_reader.hpp"

namespace meshmove::sim {
namespace {

using detail::index_field;
using detail::join_field;
using detail::YamlReader;

constexpr int k_max_instances = 10000;
constexpr double k_max_rps = 1e7;
const char* const k_tag_value_rule =
    "must be a Kuma tag value: alphanumeric characters, dots, dashes, colons and underscores";

// Labels of the exposition that a tag key (or its plural) must not turn into.
bool is_reserved_label(const std::string& tag_key) {
  static const std::vector<std::string> reserved = {"mesh",
                                                    "dataplane",
                                                    "envoy_cluster_name",
                                                    "kuma_io_service",
                                                    "kuma_io_services",
                                                    "envoy_response_code",
                                                    "envoy_response_code_class",
                                                    "le",
                                                    "job",
                                                    "instance"};
  const std::string single = sanitize_label_name(tag_key);
  const std::string plural = sanitize_label_name(tag_key + "s");
  return std::find(reserved.begin(), reserved.end(), single) != reserved.end() ||
         std::find(reserved.begin(), reserved.end(), plural) != reserved.end();
}

const ServiceSpec* find_service(const Scenario& s, std::string_view name) {
  for (const auto& svc : s.services) {
    if (svc.name == name) return &svc;
  }
  return nullptr;
}

bool has_subset(const ServiceSpec& svc, std::string_view name) {
  return std::any_of(svc.subsets.begin(), svc.subsets.end(),
                     [&](const SubsetSpec& s) { return s.name == name; });
}

std::optional<Latency> read_latency(YamlReader& r, const YAML::Node& node, const std::string& field) {
  if (!r.check_map(node, field, {"median", "p99"})) return std::nullopt;
  bool ok = true;
  Latency out;
  for (const auto* key : {"median", "p99"}) {
    const YAML::Node value = node[key];
    if (!value.IsDefined()) {
      r.error(node, join_field(field, key), "is required");
      ok = false;
      continue;
    }
    const auto d = r.duration(value, join_field(field, key));
    if (!d) {
      ok = false;
      continue;
    }
    if (d->count() <= 0) {
      r.error(value, join_field(field, key), "must be greater than 0");
      ok = false;
      continue;
    }
    (std::string_view(key) == "median" ? out.median : out.p99) = *d;
  }
  if (ok && out.p99 < out.median) {
    r.error(node["p99"], join_field(field, "p99"),
            "must be at least the median (" + planner::format_duration(out.median) + ")");
    ok = false;
  }
  return ok ? std::optional<Latency>(out) : std::nullopt;
}

bool read_subset_fields(YamlReader& r, const YAML::Node& node, const std::string& field, SubsetSpec& out,
                        const std::string& service_name) {
  if (!r.check_map(node, field, {"instances", "errorRate", "latency", "serviceName"})) return false;
  bool ok = true;
  if (const YAML::Node n = node["instances"]; n.IsDefined()) {
    const auto v = r.integer(n, join_field(field, "instances"));
    if (!v || *v < 0 || *v > k_max_instances) {
      if (v)
        r.error(n, join_field(field, "instances"),
                "must be between 0 and " + std::to_string(k_max_instances));
      ok = false;
    } else {
      out.instances = static_cast<int>(*v);
    }
  }
  if (const YAML::Node n = node["errorRate"]; n.IsDefined()) {
    const auto v = r.number(n, join_field(field, "errorRate"));
    if (!v || *v < 0 || *v > 1) {
      if (v) r.error(n, join_field(field, "errorRate"), "must be a fraction between 0 and 1");
      ok = false;
    } else {
      out.error_rate = *v;
    }
  }
  if (const YAML::Node n = node["latency"]; n.IsDefined()) {
    const auto v = read_latency(r, n, join_field(field, "latency"));
    if (!v) {
      ok = false;
    } else {
      out.latency = *v;
    }
  }
  if (const YAML::Node n = node["serviceName"]; n.IsDefined()) {
    const auto v = r.string(n, join_field(field, "serviceName"));
    if (!v) {
      ok = false;
    } else if (v->empty() || !is_tag_value(*v)) {
      r.error(n, join_field(field, "serviceName"), k_tag_value_rule);
      ok = false;
    } else if (*v == service_name) {
      r.error(n, join_field(field, "serviceName"), "must differ from the service's own name");
      ok = false;
    } else {
      out.service_name = *v;
    }
  }
  return ok;
}

// Reads `name`, `port`, `rps`, `subsets` of one service from `node` (a service entry, or the root for
// the single-service shorthand where the name key is `service`).
std::optional<ServiceSpec> read_service(YamlReader& r, const YAML::Node& node, const std::string& field,
                                        const char* name_key) {
  ServiceSpec svc;
  bool ok = true;
  const YAML::Node name = node[name_key];
  if (!name.IsDefined()) {
    r.error(node, join_field(field, name_key), "is required");
    ok = false;
  } else if (const auto v = r.string(name, join_field(field, name_key)); !v) {
    ok = false;
  } else if (v->empty() || !is_tag_value(*v)) {
    r.error(name, join_field(field, name_key), k_tag_value_rule);
    ok = false;
  } else {
    svc.name = *v;
  }
  svc.port = default_port(svc.name);
  if (const YAML::Node n = node["port"]; n.IsDefined()) {
    const auto v = r.integer(n, join_field(field, "port"));
    if (!v || *v < 1 || *v > 65535) {
      if (v) r.error(n, join_field(field, "port"), "must be between 1 and 65535");
      ok = false;
    } else {
      svc.port = static_cast<int>(*v);
    }
  }
  if (const YAML::Node n = node["rps"]; n.IsDefined()) {
    const auto v = r.number(n, join_field(field, "rps"));
    if (!v || *v < 0 || *v > k_max_rps) {
      if (v) r.error(n, join_field(field, "rps"), "must be between 0 and 1e7 requests per second");
      ok = false;
    } else {
      svc.rps = *v;
    }
  }
  const std::string subsets_field = join_field(field, "subsets");
  const YAML::Node subsets = node["subsets"];
  if (!subsets.IsDefined()) {
    r.error(node, subsets_field, "is required: at least one subset (tag value -> settings)");
    return std::nullopt;
  }
  if (!subsets.IsMap() || subsets.size() == 0) {
    r.error(subsets, subsets_field, "must be a non-empty map of tag value -> settings");
    return std::nullopt;
  }
  std::map<std::string, int> seen;
  for (auto it = subsets.begin(); it != subsets.end(); ++it) {
    SubsetSpec subset;
    const YAML::Node key = it->first;
    const std::string key_text = key.IsScalar() ? key.Scalar() : std::string();
    const std::string subset_field = join_field(subsets_field, key_text);
    if (key_text.empty() || !is_tag_value(key_text)) {
      r.error(key, subset_field, std::string("subset name ") + k_tag_value_rule);
      ok = false;
      continue;
    }
    if (seen[key_text]++ > 0) {
      r.error(key, subset_field, "duplicate subset");
      ok = false;
      continue;
    }
    subset.name = key_text;
    if (!it->second.IsNull() && !read_subset_fields(r, it->second, subset_field, subset, svc.name))
      ok = false;
    svc.subsets.push_back(std::move(subset));
  }
  return ok ? std::optional<ServiceSpec>(std::move(svc)) : std::nullopt;
}

bool read_set(YamlReader& r, const YAML::Node& node, const std::string& field, SetChange& out) {
  if (!r.check_map(node, field, {"errorRate", "latency", "instances", "rps"})) return false;
  if (node.size() == 0) {
    r.error(node, field, "must change at least one of errorRate, latency, instances, rps");
    return false;
  }
  bool ok = true;
  {
    // The same rules as in `subsets`.
    if (node["errorRate"].IsDefined()) {
      const auto v = r.number(node["errorRate"], join_field(field, "errorRate"));
      if (!v || *v < 0 || *v > 1) {
        if (v)
          r.error(node["errorRate"], join_field(field, "errorRate"), "must be a fraction between 0 and 1");
        ok = false;
      } else {
        out.error_rate = *v;
      }
    }
    if (node["instances"].IsDefined()) {
      const auto v = r.integer(node["instances"], join_field(field, "instances"));
      if (!v || *v < 0 || *v > k_max_instances) {
        if (v) r.error(node["instances"], join_field(field, "instances"), "must be between 0 and 10000");
        ok = false;
      } else {
        out.instances = static_cast<int>(*v);
      }
    }
    if (node["latency"].IsDefined()) {
      const auto v = read_latency(r, node["latency"], join_field(field, "latency"));
      if (!v) {
        ok = false;
      } else {
        out.latency = *v;
      }
    }
  }
  if (const YAML::Node n = node["rps"]; n.IsDefined()) {
    const auto v = r.number(n, join_field(field, "rps"));
    if (!v || *v < 0 || *v > k_max_rps) {
      if (v) r.error(n, join_field(field, "rps"), "must be between 0 and 1e7 requests per second");
      ok = false;
    } else {
      out.rps = *v;
    }
  }
  return ok;
}

bool read_control_plane(YamlReader& r, const YAML::Node& node, const std::string& field,
                        ControlPlaneChange& out) {
  if (!r.check_map(node, field, {"status", "delay", "down", "for"})) return false;
  bool ok = true;
  const int kinds = (node["status"].IsDefined() ? 1 : 0) + (node["delay"].IsDefined() ? 1 : 0) +
                    (node["down"].IsDefined() ? 1 : 0);
  if (kinds != 1) {
    r.error(node, field, "needs exactly one of status, delay, down");
    ok = false;
  }
  if (const YAML::Node n = node["status"]; n.IsDefined()) {
    const auto v = r.integer(n, join_field(field, "status"));
    if (!v || *v < 100 || *v > 599) {
      if (v) r.error(n, join_field(field, "status"), "must be an HTTP status code (100..599)");
      ok = false;
    } else {
      out.status = static_cast<int>(*v);
    }
  }
  if (const YAML::Node n = node["delay"]; n.IsDefined()) {
    const auto v = r.duration(n, join_field(field, "delay"));
    if (!v || v->count() <= 0) {
      if (v) r.error(n, join_field(field, "delay"), "must be greater than 0");
      ok = false;
    } else {
      out.delay = *v;
    }
  }
  if (const YAML::Node n = node["down"]; n.IsDefined()) {
    const auto v = r.boolean(n, join_field(field, "down"));
    if (!v || !*v) {
      if (v) r.error(n, join_field(field, "down"), "must be true (omit the event to keep the API up)");
      ok = false;
    } else {
      out.down = true;
    }
  }
  const YAML::Node duration = node["for"];
  if (!duration.IsDefined()) {
    r.error(node, join_field(field, "for"), "is required: how long the control-plane fault lasts");
    ok = false;
  } else if (const auto v = r.duration(duration, join_field(field, "for")); !v || v->count() <= 0) {
    if (v) r.error(duration, join_field(field, "for"), "must be greater than 0");
    ok = false;
  } else {
    out.duration = *v;
  }
  return ok;
}

std::optional<EventSpec> read_event(YamlReader& r, const YAML::Node& node, const std::string& field,
                                    const Scenario& scenario, bool require_trigger) {
  if (!r.check_map(node, field, {"at", "whenWeight", "service", "subset", "set", "controlPlane"})) {
    return std::nullopt;
  }
  EventSpec ev;
  ev.line = node.Mark().is_null() ? 0 : node.Mark().line + 1;
  bool ok = true;
  const bool has_at = node["at"].IsDefined();
  const bool has_when = node["whenWeight"].IsDefined();
  if (has_at && has_when) {
    r.error(node, field, "use either `at` or `whenWeight`, not both");
    ok = false;
  } else if (!has_at && !has_when && require_trigger) {
    r.error(node, field, "needs a trigger: `at: DURATION` or `whenWeight: {subset, atLeast}`");
    ok = false;
  }
  const bool has_set = node["set"].IsDefined();
  const bool has_cp = node["controlPlane"].IsDefined();
  if (has_set == has_cp) {
    r.error(node, field, "needs exactly one action: `set` or `controlPlane`");
    ok = false;
  }
  if (has_at) {
    const auto v = r.duration(node["at"], join_field(field, "at"));
    if (!v) {
      ok = false;
    } else {
      ev.at = *v;
    }
  }
  // The service: explicit, or implied when the scenario has exactly one.
  const ServiceSpec* service = nullptr;
  const bool needs_service = has_when || has_set || node["subset"].IsDefined();
  if (const YAML::Node n = node["service"]; n.IsDefined()) {
    const auto v = r.string(n, join_field(field, "service"));
    if (!v) {
      ok = false;
    } else if ((service = find_service(scenario, *v)) == nullptr) {
      r.error(n, join_field(field, "service"), "no service \"" + *v + "\" in the scenario");
      ok = false;
    }
  } else if (needs_service) {
    if (scenario.services.size() == 1) {
      service = &scenario.services.front();
    } else {
      r.error(node, join_field(field, "service"), "is required when the scenario has more than one service");
      ok = false;
    }
  }
  if (service != nullptr) ev.service = service->name;
  auto check_subset = [&](const YAML::Node& n,
                          const std::string& subset_field) -> std::optional<std::string> {
    const auto v = r.string(n, subset_field);
    if (!v) return std::nullopt;
    if (service != nullptr && !has_subset(*service, *v)) {
      r.error(n, subset_field, "no subset \"" + *v + "\" in service " + service->name);
      return std::nullopt;
    }
    return v;
  };
  if (const YAML::Node n = node["subset"]; n.IsDefined()) {
    if (const auto v = check_subset(n, join_field(field, "subset"))) {
      ev.subset = *v;
    } else {
      ok = false;
    }
  }
  if (has_when) {
    const std::string wf = join_field(field, "whenWeight");
    const YAML::Node w = node["whenWeight"];
    if (!r.check_map(w, wf, {"subset", "atLeast"})) {
      ok = false;
    } else {
      WhenWeight when;
      if (!w["subset"].IsDefined()) {
        r.error(w, join_field(wf, "subset"), "is required");
        ok = false;
      } else if (const auto v = check_subset(w["subset"], join_field(wf, "subset"))) {
        when.subset = *v;
      } else {
        ok = false;
      }
      if (!w["atLeast"].IsDefined()) {
        r.error(w, join_field(wf, "atLeast"), "is required: a weight in percent");
        ok = false;
      } else if (const auto v = r.number(w["atLeast"], join_field(wf, "atLeast")); !v || *v < 0 || *v > 100) {
        if (v) r.error(w["atLeast"], join_field(wf, "atLeast"), "must be a percentage between 0 and 100");
        ok = false;
      } else {
        when.at_least = *v;
      }
      ev.when_weight = when;
    }
  }
  if (has_set) {
    SetChange set;
    if (!read_set(r, node["set"], join_field(field, "set"), set)) {
      ok = false;
    } else {
      const bool subset_change = set.error_rate || set.latency || set.instances;
      if (subset_change && ev.subset.empty() && ok) {
        r.error(node, join_field(field, "subset"), "is required to change errorRate, latency or instances");
        ok = false;
      }
      ev.set = set;
    }
  }
  if (has_cp) {
    ControlPlaneChange cp;
    if (!read_control_plane(r, node["controlPlane"], join_field(field, "controlPlane"), cp)) {
      ok = false;
    } else {
      ev.control_plane = cp;
    }
  }
  return ok ? std::optional<EventSpec>(std::move(ev)) : std::nullopt;
}

std::optional<YAML::Node> load(YamlReader& r, std::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    r.error_at(e.mark, "", "invalid YAML: " + e.msg);
    return std::nullopt;
  }
}

void check_cross_references(YamlReader& r, const YAML::Node& root, Scenario& s) {
  std::map<std::string, std::string> dataplanes;  // name -> owner "service/subset"
  std::map<std::string, int> service_names;
  for (std::size_t i = 0; i < s.services.size(); ++i) {
    const auto& svc = s.services[i];
    const YAML::Node at = root["services"].IsDefined() ? root["services"][i] : root;
    if (service_names[svc.name]++ > 0) {
      r.error(at, index_field("services", i) + ".name", "duplicate service \"" + svc.name + "\"");
    }
    for (const auto& subset : svc.subsets) {
      const std::string dp = dataplane_name(svc.name, subset.name, 1);
      const std::string owner = svc.name + "/" + subset.name;
      if (auto [it, inserted] = dataplanes.emplace(dp, owner); !inserted) {
        r.error(at, index_field("services", i) + ".subsets." + subset.name,
                "dataplane names collide with " + it->second + " (both give " + dp + ")");
      }
    }
  }
}

}  // namespace

ScenarioParse parse_scenario(std::string_view text, const std::string& file) {
  ScenarioParse out;
  YamlReader r(file, out.diagnostics);
  const auto root_opt = load(r, text);
  if (!root_opt) return out;
  const YAML::Node root = *root_opt;
  Scenario s;
  s.file = file;
  if (!r.check_map(
          root, "",
          {"mesh", "tagKey", "tick", "seed", "services", "service", "port", "rps", "subsets", "events"})) {
    return out;
  }
  if (const YAML::Node n = root["mesh"]; n.IsDefined()) {
    if (const auto v = r.string(n, "mesh"); v && !is_rfc1123_subdomain(*v)) {
      r.error(n, "mesh", std::string(k_rfc1123_message));
    } else if (v) {
      s.mesh = *v;
    }
  }
  if (const YAML::Node n = root["tagKey"]; n.IsDefined()) {
    if (const auto v = r.string(n, "tagKey");
        v && (v->empty() || !is_tag_name(*v) || *v == "kuma.io/service")) {
      r.error(n, "tagKey",
              "must be a Kuma tag name other than kuma.io/service: alphanumeric characters, dots, dashes, "
              "colons, "
              "slashes and underscores");
    } else if (v && is_reserved_label(*v)) {
      r.error(n, "tagKey",
              "\"" + *v + "\" would clash with a label meshsim exports (" + sanitize_label_name(*v) +
                  "); pick another tag name");
    } else if (v) {
      s.tag_key = *v;
    }
  }
  if (const YAML::Node n = root["tick"]; n.IsDefined()) {
    if (const auto v = r.duration(n, "tick"); v && (v->count() < 1 || v->count() > 10000)) {
      r.error(n, "tick", "must be between 1ms and 10s");
    } else if (v) {
      s.tick = *v;
    }
  }
  if (const YAML::Node n = root["seed"]; n.IsDefined()) {
    if (const auto v = r.unsigned_integer(n, "seed")) s.seed = *v;
  }
  const bool shorthand = root["service"].IsDefined() || root["subsets"].IsDefined() ||
                         root["port"].IsDefined() || root["rps"].IsDefined();
  if (root["services"].IsDefined()) {
    if (shorthand) {
      r.error(
          root["services"], "services",
          "use either `services` or the single-service shorthand (service, port, rps, subsets), not both");
    }
    const YAML::Node list = root["services"];
    if (!list.IsSequence() || list.size() == 0) {
      r.error(list, "services", "must be a non-empty list of services");
    } else {
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string field = index_field("services", i);
        if (!r.check_map(list[i], field, {"name", "port", "rps", "subsets"})) continue;
        if (auto svc = read_service(r, list[i], field, "name")) s.services.push_back(std::move(*svc));
      }
    }
  } else if (shorthand) {
    if (auto svc = read_service(r, root, "", "service")) s.services.push_back(std::move(*svc));
  } else {
    r.error(root, "services", "is required: a list of services (or the shorthand `service` + `subsets`)");
  }
  if (!planner::has_errors(out.diagnostics)) check_cross_references(r, root, s);
  if (const YAML::Node events = root["events"]; events.IsDefined() && !events.IsNull()) {
    if (!events.IsSequence()) {
      r.error(events, "events", "must be a list of events");
    } else if (!planner::has_errors(out.diagnostics)) {
      for (std::size_t i = 0; i < events.size(); ++i) {
        if (auto ev = read_event(r, events[i], index_field("events", i), s, true))
          s.events.push_back(std::move(*ev));
      }
    }
  }
  if (!planner::has_errors(out.diagnostics)) out.scenario = std::move(s);
  return out;
}

EventParse parse_event(std::string_view text, const Scenario& scenario, const std::string& file) {
  EventParse out;
  YamlReader r(file, out.diagnostics);
  const auto root = load(r, text);
  if (!root) return out;
  auto ev = read_event(r, *root, "", scenario, false);
  if (ev && !planner::has_errors(out.diagnostics)) out.event = std::move(*ev);
  return out;
}

std::string describe_event(const EventSpec& e) {
  std::ostringstream out;
  if (e.at) {
    out << "at " << planner::format_duration(*e.at);
  } else if (e.when_weight) {
    out << "when " << e.when_weight->subset << " weight >= " << e.when_weight->at_least << "%";
  } else {
    out << "injected";
  }
  out << ": ";
  if (e.set) {
    out << "set";
    if (!e.service.empty()) out << " " << e.service;
    if (!e.subset.empty()) out << "/" << e.subset;
    if (e.set->error_rate) out << " errorRate=" << *e.set->error_rate;
    if (e.set->latency) {
      out << " latency=" << planner::format_duration(e.set->latency->median) << "/"
          << planner::format_duration(e.set->latency->p99);
    }
    if (e.set->instances) out << " instances=" << *e.set->instances;
    if (e.set->rps) out << " rps=" << *e.set->rps;
  } else if (e.control_plane) {
    const auto& cp = *e.control_plane;
    out << "control plane ";
    if (cp.status) out << "status " << *cp.status;
    if (cp.delay) out << "delay " << planner::format_duration(*cp.delay);
    if (cp.down) out << "down";
    out << " for " << planner::format_duration(cp.duration);
  }
  return out.str();
}

std::string dataplane_name(std::string_view service, std::string_view subset, int ordinal) {
  std::string raw = std::string(service) + "-" + std::string(subset) + "-" + std::to_string(ordinal);
  std::string out;
  out.reserve(raw.size());
  for (const char c : raw) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.') {
      out += c;
    } else if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += '-';
    }
  }
  const auto first = out.find_first_not_of("-.");
  const auto last = out.find_last_not_of("-.");
  if (first == std::string::npos) return "dp-" + std::to_string(ordinal);
  return out.substr(first, last - first + 1);
}

int default_port(std::string_view service_name) {
  const auto pos = service_name.rfind("_svc_");
  if (pos == std::string_view::npos) return 80;
  const std::string_view digits = service_name.substr(pos + 5);
  int port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port < 1 || port > 65535) return 80;
  return port;
}

}  // namespace meshmove::sim
