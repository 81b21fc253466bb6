#include "backends/kuma_control_plane.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include <nlohmann/json.hpp>

#include "backends/kuma_errors.hpp"

namespace meshmove::backends {
namespace {

using nlohmann::json;
using planner::ErrorKind;
using planner::make_error;
using planner::RouteKind;

const char* k_migration_label = "meshmove.io/migration";
const char* k_step_label = "meshmove.io/step";
// Kuma's weights are 32-bit unsigned; larger ones (and negative ones) are not a split meshmove reads, and
// sums of them stay far from overflowing a long.
constexpr long k_max_weight = 4294967295L;

// The step label is the 1-based step number, "0" when pinned to the from set (a Kuma label value must
// start and end with an alphanumeric character, so "-1" is not allowed).
std::string step_label(int step) { return std::to_string(step + 1); }
std::optional<int> step_from_label(const std::string& label) {
  if (label.empty() || label.size() > 6 || label.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoi(label) - 1;
}

// A step index for people: "pinned to the from set" for -1, else "step N" (1-based, as the label).
std::string step_words(int step) { return step < 0 ? "pinned to the from set" : "step " + std::to_string(step + 1); }

// Integer weights for Kuma: percentages when both are whole percents, else basis points.
std::pair<long, long> kuma_weights(int to_weight) {
  const int from_weight = planner::k_full_weight - to_weight;
  if (to_weight % 100 == 0) return {from_weight / 100, to_weight / 100};
  return {from_weight, to_weight};
}

class KumaControlPlane final : public planner::ControlPlane {
 public:
  KumaControlPlane(const planner::Plan& plan, HttpTransport& transport)
      : m_plan(plan), m_transport(transport), m_name(planner::policy_name(plan)) {
    m_base = plan.control_plane.url;
    while (!m_base.empty() && m_base.back() == '/') m_base.pop_back();
  }

  planner::Result<planner::LiveRouting> read() override {
    if (auto st = check_mesh(); !st.ok()) return st.error();
    auto got = get(policy_path());
    if (!got.ok()) return got.error();
    planner::LiveRouting live;
    live.kind = kuma_type(m_plan.control_plane.route);
    live.name = m_name;
    RouteRank own = hypothetical_rank();
    if (got->status != 404) {
      if (got->status != 200) return kuma_error(*got, "GET " + policy_path(), m_plan);
      json doc;
      try {
        doc = json::parse(got->body);
      } catch (const json::exception& e) {
        return make_error(ErrorKind::Invalid, "GET " + policy_path() + ": the answer is not JSON: " + e.what());
      }
      try {
        if (doc.is_object()) own = rank_of(doc);
        interpret(doc, live);
      } catch (const json::exception& e) {  // a field of the wrong type
        return make_error(ErrorKind::Invalid, "GET " + policy_path() + ": the answer is not a " + live.kind + ": " + e.what());
      }
    }
    if (auto st = discover(own, live); !st.ok()) return st.error();
    return live;
  }

  planner::Result<planner::LiveRouting> write(const planner::PolicyWrite& w) override {
    if (w.to_weight < 0 || w.to_weight > planner::k_full_weight) {
      return make_error(ErrorKind::Invalid, "refusing to write a weight of " + std::to_string(w.to_weight) +
                                                " basis points (0..10000)");
    }
    // A write that undoes risk retries for its deadline, its read-back included.
    struct UndoScope {
      std::optional<RetryPolicy>& slot;
      ~UndoScope() { slot.reset(); }
    } undo{m_undo_retry};
    if (w.retry_deadline) m_undo_retry = undo_retry_policy(*w.retry_deadline);
    if (auto st = check_mesh(); !st.ok()) return st.error();
    HttpRequest req;
    req.method = "PUT";
    req.retry = m_undo_retry;
    req.url = m_base + policy_path();
    req.body = document(w).dump();
    auto put = m_transport.send(req);
    if (!put.ok()) return put.error();
    if (put->status != 200 && put->status != 201) return kuma_error(*put, "PUT " + policy_path(), m_plan);
    // Kuma has no resource version (last writer wins): read back and compare.
    auto back = read();
    if (!back.ok()) return back.error();
    if (back->to_weight != w.to_weight || back->owner != w.migration || back->step != w.step) {
      return make_error(ErrorKind::Conflict,
                        "wrote " + planner::format_weight(w.to_weight) + "% to the to set (" + step_words(w.step) +
                            "), but read back " +
                            (back->to_weight ? planner::format_weight(*back->to_weight) + "%" : std::string("no split")) +
                            " (owner '" + back->owner + "', " + (back->step ? step_words(*back->step) : std::string("no step label")) +
                            "); another writer changed the policy at the same time");
    }
    return back;
  }

  planner::Result<planner::PreflightReport> preflight() override {
    planner::PreflightReport report;
    auto index = get("/");
    if (index.ok() && index->status == 200) {
      try {
        const json j = json::parse(index->body);
        if (j.contains("version") && j["version"].is_string()) report.version = j["version"];
      } catch (const json::exception&) {
      }
    } else if (!index.ok()) {
      return index.error();
    }
    if (!report.version.empty() && report.version[0] >= '3' && report.version[0] <= '9' &&
        m_plan.control_plane.route != RouteKind::MeshService) {
      report.warnings.push_back("Kuma " + report.version +
                                " no longer accepts MeshServiceSubset or TrafficRoute; use controlPlane.route: "
                                "mesh-service with one service per instance set");
    }
    if (auto st = check_mesh(); !st.ok()) return st.error();
    auto counted = for_each_item("/meshes/" + url_encode(m_plan.mesh) + "/dataplanes?size=1000", false, "dataplanes",
                                 [&](const json& item) { count_dataplane(item, report); });
    if (!counted.ok()) return counted.error();
    return report;
  }

  [[nodiscard]] std::string render(const planner::PolicyWrite& w) const override { return document(w).dump(2); }

  [[nodiscard]] std::string describe() const override {
    return std::string("Kuma ") + kuma_type(m_plan.control_plane.route) + " " + m_name + " in mesh " + m_plan.mesh +
           " at " + m_base;
  }

 private:
  [[nodiscard]] std::string policy_path() const {
    return "/meshes/" + url_encode(m_plan.mesh) + "/" + kuma_collection(m_plan.control_plane.route) + "/" +
           url_encode(m_name);
  }

  planner::Result<HttpResponse> get(const std::string& path) {
    HttpRequest req;
    req.url = m_base + path;
    req.retry = m_undo_retry;
    return m_transport.send(req);
  }

  // A missing mesh gives 404 on a resource GET too; ask for the mesh once so the message is right.
  planner::Status check_mesh() {
    if (m_mesh_checked) return planner::ok_status();
    const std::string path = "/meshes/" + url_encode(m_plan.mesh);
    auto got = get(path);
    if (!got.ok()) return got.error();
    if (got->status == 404) {
      return make_error(ErrorKind::NotFound, "the mesh '" + m_plan.mesh + "' does not exist on the control plane at " +
                                                 m_base + " (plan field mesh)",
                        404);
    }
    if (got->status != 200) return kuma_error(*got, "GET " + path, m_plan);
    m_mesh_checked = true;
    return planner::ok_status();
  }

  [[nodiscard]] json backend_ref(bool to_set, long weight) const {
    const std::string& subset = to_set ? m_plan.to : m_plan.from;
    if (m_plan.control_plane.route == RouteKind::MeshService) {
      return json{{"kind", "MeshService"}, {"name", subset}, {"weight", weight}};
    }
    return json{{"kind", "MeshServiceSubset"},
                {"name", m_plan.service},
                {"tags", json{{m_plan.tag_key, subset}}},
                {"weight", weight}};
  }

  [[nodiscard]] json document(const planner::PolicyWrite& w) const {
    const auto [from_weight, to_weight] = kuma_weights(w.to_weight);
    const RouteKind route = m_plan.control_plane.route;
    json doc{{"type", kuma_type(route)},
             {"mesh", m_plan.mesh},
             {"name", m_name},
             {"labels", json{{k_migration_label, w.migration}, {k_step_label, step_label(w.step)}}}};
    if (route == RouteKind::TrafficRoute) {
      // Legacy policies are flattened: sources/destinations/conf at the top level.
      doc["sources"] = json::array({json{{"match", json{{"kuma.io/service", "*"}}}}});
      doc["destinations"] = json::array({json{{"match", json{{"kuma.io/service", m_plan.service}}}}});
      doc["conf"] = json{{"split", json::array({json{{"weight", from_weight},
                                                    {"destination", json{{"kuma.io/service", m_plan.service},
                                                                         {m_plan.tag_key, m_plan.from}}}},
                                               json{{"weight", to_weight},
                                                    {"destination", json{{"kuma.io/service", m_plan.service},
                                                                         {m_plan.tag_key, m_plan.to}}}}})}};
      return doc;
    }
    json rule{{"default", json{{"backendRefs", json::array({backend_ref(false, from_weight),
                                                             backend_ref(true, to_weight)})}}}};
    if (route != RouteKind::MeshTcpRoute) {
      rule["matches"] = json::array({json{{"path", json{{"type", "PathPrefix"}, {"value", "/"}}}}});
    }
    doc["spec"] = json{{"targetRef", json{{"kind", "Mesh"}}},
                       {"to", json::array({json{{"targetRef", json{{"kind", "MeshService"}, {"name", m_plan.service}}},
                                                {"rules", json::array({rule})}}})}};
    return doc;
  }

  // Which set a split entry or backendRef sends to: 1 to, 0 from, -1 neither.
  [[nodiscard]] int classify(const json& ref) const {
    if (m_plan.control_plane.route == RouteKind::MeshService) {
      if (ref.value("kind", "") != "MeshService") return -1;
      const std::string name = ref.value("name", "");
      return name == m_plan.to ? 1 : name == m_plan.from ? 0 : -1;
    }
    const json& tags = ref.contains("destination") ? ref["destination"] : ref.value("tags", json::object());
    if (!tags.is_object() || !tags.contains(m_plan.tag_key) || !tags[m_plan.tag_key].is_string()) return -1;
    const std::string service = ref.contains("destination") ? tags.value("kuma.io/service", "") : ref.value("name", "");
    if (service != m_plan.service) return -1;
    const std::string value = tags[m_plan.tag_key];
    return value == m_plan.to ? 1 : value == m_plan.from ? 0 : -1;
  }

  void interpret(json doc, planner::LiveRouting& live) const {
    const json labels = doc.value("labels", json::object());
    const std::string owner = labels.is_object() ? labels.value(k_migration_label, "") : "";
    live.owner = owner;
    live.ownership = owner.empty() ? planner::Ownership::Foreign
                     : owner == m_plan.name ? planner::Ownership::Ours
                                            : planner::Ownership::OtherMigration;
    if (labels.is_object() && labels.contains(k_step_label) && labels[k_step_label].is_string()) {
      live.step = step_from_label(labels[k_step_label].get<std::string>());
    }
    // The entries that carry the weights.
    json entries = json::array();
    const std::string type = doc.value("type", kuma_type(m_plan.control_plane.route));
    if (type == "TrafficRoute") {
      if (doc.contains("conf") && doc["conf"].is_object()) entries = doc["conf"].value("split", json::array());
    } else if (doc.contains("spec") && doc["spec"].is_object()) {
      const json to = doc["spec"].value("to", json::array());
      std::size_t rules = 0;
      for (const auto& t : to) {
        if (!t.is_object() || t.value("targetRef", json::object()).value("name", "") != m_plan.service) continue;
        for (const auto& r : t.value("rules", json::array())) {
          ++rules;
          if (r.is_object() && r.contains("default")) entries = r["default"].value("backendRefs", json::array());
        }
      }
      if (rules > 1) live.warnings.push_back(live.kind + " " + m_name + " has " + std::to_string(rules) +
                                             " rules for the service; meshmove reads and writes one");
    }
    long from = 0, to = 0;
    bool understood = entries.is_array() && !entries.empty();
    for (const auto& e : entries) {
      if (!e.is_object()) {
        understood = false;
        continue;
      }
      long weight = e.contains("weight") && e["weight"].is_number_integer() ? e["weight"].get<long>() : 1;
      if (weight < 0 || weight > k_max_weight) weight = -1;  // not a Kuma weight: understood as neither set
      const int set = classify(e);
      if (set == 1 && weight >= 0) {
        to += weight;
      } else if (set == 0 && weight >= 0) {
        from += weight;
      } else if (weight != 0) {
        understood = false;
        live.warnings.push_back((set >= 0 ? "the policy has a weight that is not a whole number from 0 to 4294967295: "
                                          : "the policy also routes to something other than the two sets: ") +
                                e.dump());
      }
    }
    if (understood && from + to > 0) {
      // Rounded to basis points (half up), in floating point: to * 10000 overflows a long for huge weights.
      live.to_weight = static_cast<int>(
          std::llround(static_cast<double>(to) * planner::k_full_weight / static_cast<double>(from + to)));
    } else if (live.warnings.empty()) {
      live.warnings.push_back("the policy has no weighted split between " + m_plan.from + " and " + m_plan.to);
    }
    for (const char* computed : {"creationTime", "modificationTime", "kri", "status"}) doc.erase(computed);
    if (doc.contains("labels") && doc["labels"].is_object()) {
      json kept = json::object();
      for (auto it = doc["labels"].begin(); it != doc["labels"].end(); ++it) {
        if (it.key().rfind("kuma.io/", 0) != 0) kept[it.key()] = it.value();
      }
      doc["labels"] = kept;
    }
    live.document = doc.dump(2);
  }

  // Where a route stands in Kuma's order for the traffic to the service (Kuma 2.x):
  //   - MeshHTTPRoute over MeshTCPRoute over TrafficRoute (kuma-api.md 1.6, 1.7);
  //   - targetRef policies (pkg/plugins/policies/core/rules/sort.go, SortByTargetRefV2, and the
  //     "How policies are combined" table of the policies docs): the more specific top-level targetRef
  //     kind, then origin (zone over global), then policy role, then the display name in INVERTED
  //     lexicographic order: "aaa" has priority over "zzz". Rules with the same matches merge with the
  //     higher-priority policy's `default` on top, so for the catch-all rule meshmove writes, the first in
  //     this order decides; a route with no catch-all rule decides only the requests it matches.
  //     Mesh ranks lowest in every Kuma version (api/common/v1alpha1/targetref.go, `order`); the order of
  //     the other top-level kinds has changed between versions (master puts Dataplane below MeshSubset),
  //     so only "Mesh loses to any narrower targetRef", which is what meshmove writes, is certain;
  //   - TrafficRoute (pkg/core/policy, SelectConnectionPolicies): the more specific destination selector,
  //     then the later creation time, then the smaller name (policies are sorted by name and only a
  //     strictly later one replaces the best).
  struct RouteRank {
    int kind = 0;             // MeshHTTPRoute 2, MeshTCPRoute 1, TrafficRoute 0
    bool catch_all = true;    // MeshHTTPRoute: a rule for the service matches every request
    int target = 0;           // top-level targetRef: Mesh 0, MeshSubset 1, MeshService 2, MeshServiceSubset 3, Dataplane 4
    int origin = -1;          // kuma.io/origin: global 0, zone 1; -1 unknown (not compared)
    int role = 0;             // kuma.io/policy-role: system 0, producer 1, consumer 2, workload-owner 3
    int destination = 1;      // TrafficRoute: exact kuma.io/service 1, "*" 0
    std::string created;      // TrafficRoute: creationTime (RFC 3339); empty: not created yet (newest)
    std::string name;         // the display name
    std::string type;
  };

  static int kind_rank(const std::string& type) {
    return type == "MeshHTTPRoute" ? 2 : type == "MeshTCPRoute" ? 1 : 0;
  }

  // meshmove's policy as it would be written (when it does not exist yet).
  [[nodiscard]] RouteRank hypothetical_rank() const {
    RouteRank r;
    r.type = kuma_type(m_plan.control_plane.route);
    r.kind = kind_rank(r.type);
    r.name = m_name;
    return r;
  }

  // Whether the match of an HTTP rule accepts every request (no path, or a PathPrefix of "/", and no
  // method, header or query condition).
  static bool catch_all_match(const json& m) {
    if (!m.is_object()) return false;
    for (const char* key : {"method", "headers", "queryParams"}) {
      if (m.contains(key) && !m[key].is_null() && !(m[key].is_array() && m[key].empty())) return false;
    }
    if (!m.contains("path") || m["path"].is_null()) return true;
    const json& p = m["path"];
    return p.is_object() && p.value("type", "") == "PathPrefix" && p.value("value", "") == "/";
  }

  // The rank of a route document, or nullopt when it does not target the service.
  [[nodiscard]] std::optional<RouteRank> rank_if_targets(const json& doc) const {
    RouteRank r;
    r.type = doc.value("type", "");
    r.kind = kind_rank(r.type);
    r.name = doc.value("name", "");
    const json labels = doc.value("labels", json::object());
    if (labels.is_object()) {
      const std::string display = labels.value("kuma.io/display-name", "");
      if (!display.empty()) r.name = display;
      const std::string origin = labels.value("kuma.io/origin", "");
      r.origin = origin == "zone" ? 1 : origin == "global" ? 0 : -1;
      const std::string role = labels.value("kuma.io/policy-role", "");
      r.role = role == "producer" ? 1 : role == "consumer" ? 2 : role == "workload-owner" ? 3 : 0;
    }
    bool targets = false;
    if (r.type == "TrafficRoute") {
      r.destination = 0;
      for (const auto& d : doc.value("destinations", json::array())) {
        if (!d.is_object() || !d.contains("match") || !d["match"].is_object()) continue;
        const std::string service = d["match"].value("kuma.io/service", "");
        if (service == m_plan.service) {
          targets = true;
          r.destination = 1;
        } else if (service == "*") {
          targets = true;
        }
      }
      r.created = doc.value("creationTime", "");
      return targets ? std::optional<RouteRank>(r) : std::nullopt;
    }
    const json spec = doc.value("spec", json::object());
    if (!spec.is_object()) return std::nullopt;
    const json top = spec.value("targetRef", json::object());
    const std::string top_kind = top.is_object() ? top.value("kind", "Mesh") : "Mesh";
    r.target = top_kind == "MeshSubset" ? 1 : top_kind == "MeshService" ? 2 : top_kind == "MeshServiceSubset" ? 3
             : top_kind == "Dataplane" ? 4 : 0;
    r.catch_all = r.type != "MeshHTTPRoute";
    for (const auto& t : spec.value("to", json::array())) {
      if (!t.is_object()) continue;
      const json ref = t.value("targetRef", json::object());
      if (!ref.is_object() || ref.value("kind", "") != "MeshService" || ref.value("name", "") != m_plan.service) continue;
      targets = true;
      for (const auto& rule : t.value("rules", json::array())) {
        if (!rule.is_object()) continue;
        const json matches = rule.value("matches", json::array());
        if (!matches.is_array() || matches.empty()) r.catch_all = true;
        for (const auto& m : matches) r.catch_all = r.catch_all || catch_all_match(m);
      }
    }
    return targets ? std::optional<RouteRank>(r) : std::nullopt;
  }

  [[nodiscard]] RouteRank rank_of(const json& doc) const {
    auto r = rank_if_targets(doc);
    if (r) return *r;
    RouteRank own = hypothetical_rank();  // meshmove's policy no longer targets the service: it decides nothing
    own.catch_all = false;
    own.kind = -1;
    return own;
  }

  // > 0 when `a` has priority over `b` for the service's catch-all traffic, < 0 when `b` has; `why` says
  // which attribute decided, in words.
  static int compare(const RouteRank& a, const RouteRank& b, std::string& why) {
    if (a.kind != b.kind) {
      why = "a " + (a.kind > b.kind ? a.type : b.type) + " takes priority over a " + (a.kind > b.kind ? b.type : a.type);
      return a.kind > b.kind ? 1 : -1;
    }
    if (a.catch_all != b.catch_all) {
      why = (a.catch_all ? b.name : a.name) + " has no rule for every request (its matches select only some), so "
            "the catch-all rule of " + (a.catch_all ? a.name : b.name) + " decides the rest";
      return a.catch_all ? 1 : -1;
    }
    if (a.type == "TrafficRoute") {
      if (a.destination != b.destination) {
        why = "an exact kuma.io/service destination is more specific than \"*\"";
        return a.destination > b.destination ? 1 : -1;
      }
      if (a.created != b.created) {
        // Empty: not created yet, i.e. newer than any existing one.
        const bool a_later = a.created.empty() || (!b.created.empty() && a.created > b.created);
        why = "of equally specific TrafficRoutes Kuma takes the one created last";
        return a_later ? 1 : -1;
      }
    } else {
      if (a.target != b.target) {
        why = "a more specific top-level targetRef takes priority";
        return a.target > b.target ? 1 : -1;
      }
      if (a.origin >= 0 && b.origin >= 0 && a.origin != b.origin) {
        why = "a policy of zone origin takes priority over one of global origin";
        return a.origin > b.origin ? 1 : -1;
      }
      if (a.role != b.role) {
        why = "its kuma.io/policy-role ranks higher";
        return a.role > b.role ? 1 : -1;
      }
    }
    if (a.name != b.name) {
      why = "the same kind and targetRef, and Kuma gives priority to the name that sorts first: " +
            std::min(a.name, b.name) + " before " + std::max(a.name, b.name);
      return a.name < b.name ? 1 : -1;
    }
    why = "they rank the same";
    return 0;
  }

  // Walks a paginated Kuma list from `path` (its `next` links, at most 100 pages), calling `each` for
  // every item. A 404 is an empty list when `missing_is_empty` (a collection this Kuma does not have).
  // Errors: the transport's; Kuma's error answers; Invalid for an answer that is not JSON or not a list of
  // `what`, also when `each` meets a field of the wrong type.
  planner::Status for_each_item(std::string path, bool missing_is_empty, const char* what,
                                const std::function<void(const json&)>& each) {
    for (int page = 0; page < 100 && !path.empty(); ++page) {
      auto got = get(path);
      if (!got.ok()) return got.error();
      if (missing_is_empty && got->status == 404) break;
      if (got->status != 200) return kuma_error(*got, "GET " + path, m_plan);
      json list;
      try {
        list = json::parse(got->body);
      } catch (const json::exception& e) {
        return make_error(ErrorKind::Invalid, "GET " + path + ": the answer is not JSON: " + e.what());
      }
      try {
        for (const auto& item : list.value("items", json::array())) each(item);
      } catch (const json::exception& e) {  // not an object, or a field of the wrong type
        return make_error(ErrorKind::Invalid,
                          "GET " + path + ": the answer is not a list of " + what + ": " + e.what());
      }
      path.clear();
      if (list.contains("next") && list["next"].is_string()) {
        const std::string next = list["next"];
        const auto at = next.find("/meshes/");
        if (at != std::string::npos) path = next.substr(at);
      }
    }
    return planner::ok_status();
  }

  // Lists every route kind in the mesh and fills live.competing with the other routes that target the
  // service, ranked against meshmove's policy (`own`). A collection the control plane does not have
  // (404, e.g. traffic-routes on Kuma 3) has no routes.
  planner::Status discover(const RouteRank& own, planner::LiveRouting& live) {
    std::vector<std::pair<RouteRank, planner::CompetingRoute>> found;
    for (RouteKind kind : {RouteKind::MeshHttpRoute, RouteKind::MeshTcpRoute, RouteKind::TrafficRoute}) {
      const std::string path = "/meshes/" + url_encode(m_plan.mesh) + "/" + kuma_collection(kind) + "?size=1000";
      auto listed = for_each_item(path, true, "routes", [&](const json& item) {
        if (!item.is_object()) return;
        const std::string type = item.value("type", kuma_type(kind));
        const std::string name = item.value("name", "");
        if (type == live.kind && name == m_name) return;  // meshmove's own policy
        auto rank = rank_if_targets(item);
        if (!rank) return;
        planner::LiveRouting theirs;
        theirs.kind = type;
        interpret(item, theirs);
        planner::CompetingRoute r;
        r.kind = type;
        r.name = name;
        r.owner = theirs.owner;
        r.to_weight = theirs.to_weight;
        r.wins = compare(*rank, own, r.why) > 0;
        if (!r.wins && r.why == "they rank the same") r.why = "it ranks the same as meshmove's policy";
        found.emplace_back(*rank, std::move(r));
      });
      if (!listed.ok()) return listed.error();
    }
    std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      std::string ignored;
      return compare(a.first, b.first, ignored) > 0;
    });
    for (auto& f : found) live.competing.push_back(std::move(f.second));
    return planner::ok_status();
  }

  void count_dataplane(const json& item, planner::PreflightReport& report) const {
    if (!item.is_object() || !item.contains("networking")) return;
    const json inbound = item["networking"].value("inbound", json::array());
    bool from = false, to = false;
    for (const auto& in : inbound) {
      const json tags = in.value("tags", json::object());
      if (!tags.is_object()) continue;
      const std::string service = tags.value("kuma.io/service", "");
      if (m_plan.control_plane.route == RouteKind::MeshService) {
        from = from || service == m_plan.from;
        to = to || service == m_plan.to;
      } else if (service == m_plan.service) {
        const std::string value = tags.value(m_plan.tag_key, "");
        from = from || value == m_plan.from;
        to = to || value == m_plan.to;
      }
    }
    if (from) ++report.from_instances;
    if (to) ++report.to_instances;
  }

  const planner::Plan& m_plan;
  HttpTransport& m_transport;
  std::optional<RetryPolicy> m_undo_retry;  // set during a write that undoes risk
  std::string m_name;
  std::string m_base;
  bool m_mesh_checked = false;
};

}  // namespace

const char* kuma_collection(RouteKind route) {
  switch (route) {
    case RouteKind::MeshHttpRoute:
    case RouteKind::MeshService: return "meshhttproutes";
    case RouteKind::MeshTcpRoute: return "meshtcproutes";
    case RouteKind::TrafficRoute: return "traffic-routes";
  }
  return "meshhttproutes";
}

const char* kuma_type(RouteKind route) {
  switch (route) {
    case RouteKind::MeshHttpRoute:
    case RouteKind::MeshService: return "MeshHTTPRoute";
    case RouteKind::MeshTcpRoute: return "MeshTCPRoute";
    case RouteKind::TrafficRoute: return "TrafficRoute";
  }
  return "MeshHTTPRoute";
}

std::unique_ptr<planner::ControlPlane> make_kuma_control_plane(const planner::Plan& plan, HttpTransport& transport) {
  return std::make_unique<KumaControlPlane>(plan, transport);
}

}  // namespace meshmove::backends
