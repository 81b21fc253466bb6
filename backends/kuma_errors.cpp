#include "backends/kuma_errors.hpp"

#include <nlohmann/json.hpp>

#include "backends/secrets.hpp"

namespace meshmove::backends {

planner::Error kuma_error(const HttpResponse& response, const std::string& what, const planner::Plan& plan) {
  using planner::ErrorKind;
  std::string detail;
  std::string fields;
  try {
    const auto j = nlohmann::json::parse(response.body);
    if (j.is_object()) {
      const std::string title = j.value("title", "");
      const std::string text = j.value("detail", j.value("details", ""));
      detail = title;
      if (!text.empty()) detail += (detail.empty() ? "" : ": ") + text;
      const auto params = j.contains("invalid_parameters") ? j["invalid_parameters"] : j.value("causes", nlohmann::json());
      if (params.is_array()) {
        for (const auto& p : params) {
          if (!p.is_object()) continue;
          const std::string reason = p.value("reason", p.value("message", ""));
          fields += "\n  " + p.value("field", "?") + ": " + reason;
        }
      }
    }
  } catch (const nlohmann::json::exception&) {
  }
  if (detail.empty()) {
    detail = response.body.substr(0, 200);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  }
  // A control plane may quote the request (its Authorization header) in the body: redacted here, so that
  // no message carries it.
  fields = redact_secrets(fields);
  const std::string head =
      redact_secrets(what + " -> HTTP " + std::to_string(response.status) + (detail.empty() ? "" : ": " + detail));
  switch (response.status) {
    case 400:
      return planner::make_error(ErrorKind::Rejected, head + fields, 400);
    case 401:
    case 403:
      return planner::make_error(ErrorKind::Rejected,
                                 head + "\n  the control plane refused meshmove's credentials: set controlPlane.tokenFile "
                                        "or MESHMOVE_KUMA_TOKEN to a token allowed to manage " +
                                     std::string(planner::to_string(plan.control_plane.route)) + " policies",
                                 response.status);
    case 404:
      return planner::make_error(ErrorKind::NotFound, head, 404);
    case 405:
      return planner::make_error(ErrorKind::Config,
                                 head + "\n  the control plane refuses writes through its API: it runs in Kubernetes "
                                        "mode, where policies are custom resources; use controlPlane.type: kubernetes",
                                 405);
    case 409:
      return planner::make_error(ErrorKind::Conflict, head + "\n  another writer changed the policy at the same time",
                                 409);
    default:
      return planner::make_error(response.status >= 500 ? ErrorKind::Unavailable : ErrorKind::Rejected, head,
                                 response.status);
  }
}

}  // namespace meshmove::backends
