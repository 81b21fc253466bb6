#include "metrics/slo_queries.hpp"

#include <cmath>
#include <sstream>

namespace meshmove::metrics {
namespace {

const char* k_classes_metric = "envoy_cluster_upstream_rq_xx";
const char* k_bucket_metric = "envoy_cluster_upstream_rq_time_bucket";

std::string format_quantile(double percentile) {
  std::ostringstream s;
  s.precision(10);
  s << percentile / 100.0;
  return s.str();
}

}  // namespace

const char* to_string(SetRole r) { return r == SetRole::To ? "to" : "from"; }

std::string escape_promql_string(std::string_view value) {
  std::string out;
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_promql_regex(std::string_view value) {
  std::string regex;
  for (char c : value) {
    if (std::string_view(".+*?()|[]{}^$\\").find(c) != std::string_view::npos) regex += '\\';
    regex += c;
  }
  return escape_promql_string(regex);
}

std::string tag_label(std::string_view tag_key) {
  std::string out;
  for (char c : tag_key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  if (!out.empty() && out[0] >= '0' && out[0] <= '9') out = "_" + out;
  return out;
}

std::vector<LabelMatcher> set_matchers(const planner::Plan& plan, SetRole role) {
  const std::string& subset = role == SetRole::To ? plan.to : plan.from;
  std::vector<LabelMatcher> out;
  out.push_back({"mesh", "mesh=\"" + escape_promql_string(plan.mesh) + "\"", plan.mesh});
  if (plan.control_plane.route == planner::RouteKind::MeshService) {
    // The two sets are two services: select each by its own name.
    out.push_back({"kuma_io_services", "kuma_io_services=~\".*," + escape_promql_regex(subset) + ",.*\"", subset});
  } else {
    out.push_back(
        {"kuma_io_services", "kuma_io_services=~\".*," + escape_promql_regex(plan.service) + ",.*\"", plan.service});
    const std::string label = tag_label(plan.tag_key);
    out.push_back({label, label + "=\"" + escape_promql_string(subset) + "\"", subset});
  }
  out.push_back({"envoy_cluster_name", "envoy_cluster_name=~\"localhost_.*\"", "localhost_<port>"});
  return out;
}

std::string set_selector(const planner::Plan& plan, SetRole role) {
  std::string sel;
  for (const auto& m : set_matchers(plan, role)) sel += (sel.empty() ? "" : ",") + m.text;
  return sel;
}

const char* request_metric() { return k_classes_metric; }

std::string render_custom_query(const planner::Plan& plan, const std::string& query, SetRole role,
                                std::string_view window) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto open = query.find("{{", pos);
    if (open == std::string::npos) break;
    const auto close = query.find("}}", open + 2);
    if (close == std::string::npos) break;
    out += query.substr(pos, open - pos);
    std::string name = query.substr(open + 2, close - open - 2);
    const auto b = name.find_first_not_of(' ');
    const auto e = name.find_last_not_of(' ');
    name = b == std::string::npos ? "" : name.substr(b, e - b + 1);
    if (name == "service") {
      out += escape_promql_string(plan.service);
    } else if (name == "mesh") {
      out += escape_promql_string(plan.mesh);
    } else if (name == "subset") {
      out += escape_promql_string(role == SetRole::To ? plan.to : plan.from);
    } else if (name == "tagKey") {
      out += tag_label(plan.tag_key);
    } else if (name == "window") {
      out += window;
    } else if (name == "from") {
      out += escape_promql_string(plan.from);
    } else if (name == "to") {
      out += escape_promql_string(plan.to);
    } else {
      out += query.substr(open, close + 2 - open);  // validation refuses unknown variables
    }
    pos = close + 2;
  }
  out += query.substr(pos);
  return out;
}

std::string promql_range(planner::Duration d) {
  const auto ms = d.count();
  const long long seconds = std::max<long long>(1, (ms + 999) / 1000);
  return planner::format_duration(std::chrono::seconds(seconds));  // "1h", "1m37s": Prometheus syntax
}

std::vector<GateQuery> build_gate_queries(const planner::Plan& plan, std::string_view window) {
  const std::string w(window);
  const auto bad = [&](SetRole role) {
    return "sum(increase(" + std::string(k_classes_metric) + "{" + set_selector(plan, role) +
           ",envoy_response_code_class=\"5\"}[" + w + "]))";
  };
  const auto total = [&](SetRole role) {
    return "sum(increase(" + std::string(k_classes_metric) + "{" + set_selector(plan, role) + "}[" + w + "]))";
  };
  std::vector<GateQuery> out;
  for (const auto& slo : plan.gates.slos) {
    std::vector<SetRole> roles;
    if (slo.relative_to_from || slo.set == planner::SetSelector::To) roles = {SetRole::To};
    if (!slo.relative_to_from && slo.set == planner::SetSelector::From) roles = {SetRole::From};
    if (!slo.relative_to_from && slo.set == planner::SetSelector::Both) roles = {SetRole::To, SetRole::From};
    for (const SetRole role : roles) {
      GateQuery q;
      q.slo = slo.name;
      q.type = slo.type;
      q.role = role;
      q.subset = role == SetRole::To ? plan.to : plan.from;
      if (!slo.query.empty()) {
        q.kind = QueryKind::Custom;
        q.value = render_custom_query(plan, slo.query, role, w);
        q.display = q.value;
      } else if (slo.type == planner::SloType::ErrorRate) {
        q.kind = slo.relative_to_from ? QueryKind::Relative : QueryKind::Ratio;
        q.bad = bad(role);
        q.total = total(role);
        q.display = q.bad + " / " + q.total;
        if (slo.relative_to_from) {
          q.baseline_bad = bad(SetRole::From);
          q.baseline_total = total(SetRole::From);
          q.display = "(" + q.bad + " / " + q.total + ") - (" + q.baseline_bad + " / " + q.baseline_total + ")";
        }
      } else {
        q.kind = QueryKind::Latency;
        q.buckets = "sum by (le) (increase(" + std::string(k_bucket_metric) + "{" + set_selector(plan, role) + "}[" +
                    w + "]))";
        if (slo.percentile) {
          q.value = "histogram_quantile(" + format_quantile(*slo.percentile) + ", sum by (le) (rate(" +
                    std::string(k_bucket_metric) + "{" + set_selector(plan, role) + "}[" + w + "])))";
        }
        q.display = plan.gates.decision == planner::DecisionMode::Threshold && slo.percentile ? q.value : q.buckets;
      }
      out.push_back(std::move(q));
    }
  }
  return out;
}

}  // namespace meshmove::metrics
