#pragma once
// The subset of Kuma's universal-mode REST API that meshsim serves (Kuma 2.x shapes, version 2.14.3),
// independent of any HTTP library: requests in, responses out.
//
//   GET    /                                  index {"hostname","tagline":"Kuma","product","version",...}
//   GET    /meshes, /meshes/{mesh}            the scenario's one mesh
//   GET    /meshes/{mesh}/{type}              list {"total","items","next"}; ?size (<= 1000, default 100),
//                                             ?offset, ?name (substring), ?filter[labels.KEY]=VALUE
//   GET    /{type}                            the same across meshes
//   GET    /meshes/{mesh}/{type}/{name}       one resource; 404 "Could not retrieve a resource"
//   PUT    /meshes/{mesh}/{type}/{name}       201 created / 200 updated, body {} or {"warnings":[...]};
//                                             400 "Could not process a resource" with invalid_parameters
//                                             and the deprecated causes; 400 "Could not create a resource"
//                                             "Mesh is not found" for an unknown mesh (as Kuma: GET, list
//                                             and DELETE give 404 there, PUT gives 400)
//   DELETE /meshes/{mesh}/{type}/{name}       200 {}; 404 "Could not delete a resource"
//   GET    /meshes/{mesh}/dataplanes[/{name}] the simulated instances (read-only)
//   {type} is meshhttproutes, meshtcproutes or traffic-routes. Unknown paths answer go-restful's plain
//   "404: Page Not Found", a known path with another method "405: Method Not Allowed", and a PUT whose
//   non-empty body is not Content-Type application/json "415: Unsupported Media Type" (Kuma's web
//   service Consumes(application/json); go-restful jsr311.go treats a missing type as octet-stream).
// meshsim's own endpoints (never subject to injected control-plane faults):
//   GET    /_sim/state                        the simulation state (Simulation::state_json)
//   POST   /_sim/events                       one event in the scenario's event format (YAML or JSON);
//                                             it fires at the next tick, or when its at/whenWeight says;
//                                             202 {"accepted": "<description>"}, 400 {"errors": [...]}
// Writes go to the Simulation at once and so take effect at its next tick.
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tests/sim/policy.hpp"
#include "tests/sim/simulation.hpp"

namespace meshmove::sim {

struct ApiRequest {
  std::string method;                             // "GET", "PUT", ...
  std::string path;                               // decoded, without the query
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::string body;
  std::string content_type = "application/json";  // the request's Content-Type header ("" when absent)
  std::string base_url;                           // "http://127.0.0.1:5681", for `next` links
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using SystemTime = std::chrono::system_clock::time_point;

class KumaApi {
 public:
  // `sim` must outlive the API. Not thread-safe: the caller serialises handle() with all other use of sim.
  KumaApi(Simulation& sim, SystemTime started, std::string hostname = "meshsim");

  ApiResponse handle(const ApiRequest& request, SystemTime now);

  // True for meshsim's own endpoints (/_sim/...), which injected control-plane faults leave alone.
  static bool is_sim_path(std::string_view path);

 private:
  struct Stored {
    Json doc;                                   // the normalized PUT body
    std::map<std::string, std::string> labels;  // user labels of the last PUT
    SystemTime created;
    SystemTime modified;
  };

  ApiResponse get_one(PolicyKind kind, const std::string& mesh, const std::string& name) const;
  ApiResponse list(std::optional<PolicyKind> kind, const std::string& mesh, const ApiRequest& request) const;
  ApiResponse put(PolicyKind kind, const std::string& mesh, const std::string& name,
                  const ApiRequest& request, SystemTime now);
  ApiResponse remove(PolicyKind kind, const std::string& mesh, const std::string& name);
  ApiResponse post_event(const ApiRequest& request);
  [[nodiscard]] Json render(PolicyKind kind, const std::string& name, const Stored& stored) const;
  [[nodiscard]] std::vector<Json> dataplane_items() const;
  [[nodiscard]] Json mesh_item() const;

  Simulation& m_sim;
  SystemTime m_started;
  std::string m_hostname;
  std::map<std::pair<PolicyKind, std::string>, Stored> m_store;
};

// A Kuma /std-errors body: {"type","status","title","detail","invalid_parameters","details","causes"}.
ApiResponse std_error(int status, const std::string& title, const std::string& detail,
                      const std::vector<FieldError>& invalid = {});
// The title Kuma's error handler uses for a status (for injected control-plane faults).
std::string status_title(int status);
// RFC 3339 with Go's trimmed fraction, e.g. "2026-01-02T03:04:05.123456Z".
std::string rfc3339(SystemTime t);

}  // namespace meshmove::sim
