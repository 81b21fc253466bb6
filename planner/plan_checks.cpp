#include "planner/plan_checks.hpp"

#include <regex>

#include "planner/did_you_mean.hpp"
#include "planner/plan_parser.hpp"
#include "planner/windows.hpp"

namespace meshmove::planner {

const TreeNode& ParseState::at(const std::string& path) const {
  std::string p = path;
  while (!p.empty()) {
    if (const auto it = nodes.find(p); it != nodes.end()) return *it->second;
    const auto cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p = p.substr(0, cut);
  }
  return *root;
}

namespace {

// More consecutive failing evaluations than this before a rollback is a plan that never rolls back.
constexpr int k_max_sensible_failure_limit = 1000;

class Checks {
 public:
  Checks(Binder& binder, ParseState& s) : m_b(binder), m_s(s), m_plan(s.plan) {}

  void run() {
    identity();
    control_plane();
    steps();
    timing();
    windows();
    gates();
    notify();
  }

 private:
  void error(const std::string& path, std::string message) { m_b.error(m_s.at(path), path, std::move(message)); }
  void warning(const std::string& path, std::string message) { m_b.warning(m_s.at(path), path, std::move(message)); }

  static bool is_tag_token(const std::string& s) {
    if (s.empty() || s.size() > 253) return false;
    for (char c : s) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || c == '.' || c == '/' || c == ':';
      if (!ok) return false;
    }
    return true;
  }

  void identity() {
    if (m_s.has("apiVersion") && m_plan.api_version != "meshmove/v1") {
      error("apiVersion", "unsupported apiVersion '" + m_plan.api_version + "'; this meshmove reads meshmove/v1");
    }
    if (m_s.has("kind") && m_plan.kind != "Migration") {
      error("kind", "unsupported kind '" + m_plan.kind + "'; the only kind is Migration");
    }
    if (m_s.has("metadata.name") && !is_rfc1123_label(m_plan.name)) {
      error("metadata.name", "'" + m_plan.name +
                                 "' is not an RFC 1123 label: use 1-63 lower-case letters, digits or '-', starting "
                                 "and ending with a letter or digit (e.g. apitier-to-kube)");
    }
    const std::pair<const char*, std::string*> tokens[] = {{"service", &m_plan.service},
                                                           {"mesh", &m_plan.mesh},
                                                           {"tagKey", &m_plan.tag_key},
                                                           {"from", &m_plan.from},
                                                           {"to", &m_plan.to}};
    for (const auto& [name, value] : tokens) {
      if (!m_s.has(name)) continue;
      if (!is_tag_token(*value)) {
        error(name, value->empty() ? "must not be empty"
                                   : "'" + *value +
                                         "' may only contain letters, digits and _ - . / : (as Kuma tag values do)");
      }
    }
    if (m_s.has("from") && m_s.has("to") && !m_plan.from.empty() && m_plan.from == m_plan.to) {
      error("to", "from and to are both '" + m_plan.to + "'; they must name two different instance sets");
    }
    if (m_s.has("mesh") && !is_rfc1123_label(m_plan.mesh)) {
      error("mesh", "a Kuma mesh name is an RFC 1123 label (lower-case letters, digits and '-'), got '" +
                        m_plan.mesh + "'");
    }
  }

  void control_plane() {
    const auto& cp = m_plan.control_plane;
    if (cp.type != ControlPlaneType::Kuma) {
      error("controlPlane.type", std::string("control plane type '") + to_string(cp.type) +
                                     "' is not supported by this version of meshmove; supported: kuma");
    }
    const auto check_url = [&](const std::string& path, const std::string& url) {
      if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        error(path, "'" + url + "' is not an http:// or https:// URL");
      } else if (url.find('@') != std::string::npos &&
                 url.find('@') < url.find('/', url.find("//") + 2)) {
        error(path, "credentials in the URL are refused (they would be logged); use tokenFile or basicAuth");
      }
    };
    check_url("controlPlane.url", cp.url);
    check_url("gates.prometheus.url", m_plan.gates.prometheus.url);
    if (!cp.policy_name.empty()) {
      static const std::regex subdomain("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
      if (cp.policy_name.size() > 253 || !std::regex_match(cp.policy_name, subdomain)) {
        error("controlPlane.policyName",
              "'" + cp.policy_name + "' is not a valid Kuma resource name (an RFC 1123 subdomain: lower-case "
              "letters, digits, '-' and '.', starting and ending with a letter or digit)");
      }
    }
    if (cp.cert_file.empty() != cp.key_file.empty()) {
      error(cp.cert_file.empty() ? "controlPlane.keyFile" : "controlPlane.certFile",
            "certFile and keyFile go together (a client certificate for mutual TLS needs its key)");
    }
    if (cp.timeout.count() <= 0) error("controlPlane.timeout", "must be greater than 0");
    if (cp.insecure_skip_verify) {
      warning("controlPlane.insecureSkipVerify",
              "TLS certificates of the control plane will not be verified; use caFile instead where you can");
    }
    if (m_plan.gates.prometheus.insecure_skip_verify) {
      warning("gates.prometheus.insecureSkipVerify",
              "TLS certificates of Prometheus will not be verified; use caFile instead where you can");
    }
    if (m_plan.gates.prometheus.timeout.count() <= 0) error("gates.prometheus.timeout", "must be greater than 0");
  }

  void steps() {
    const bool stepwise = m_s.step_weight.has_value() || m_s.has("stepWeight");
    if (m_s.steps_given && (m_s.has("stepWeight") || m_s.has("maxWeight"))) {
      error(m_s.has("stepWeight") ? "stepWeight" : "maxWeight",
            "give either steps or stepWeight (+ maxWeight), not both");
      return;
    }
    if (!m_s.steps_given && !m_s.has("steps") && !stepwise) {
      if (m_s.has("maxWeight")) {
        error("maxWeight", "maxWeight needs stepWeight (the increment of each step)");
      } else {
        error("steps", "missing the weight steps: give steps (e.g. [1, 5, 25, 50, 100]) or stepWeight + maxWeight");
      }
      return;
    }
    if (m_s.steps_given) {
      if (!m_s.steps_invalid && !m_plan.steps.empty() && m_plan.final_weight() <= 0) {
        error("steps", "the steps move no traffic (the final weight is 0%); end at 100");
      } else if (!m_s.steps_invalid && !m_plan.steps.empty() && m_plan.steps.back() != k_full_weight) {
        error("steps[" + std::to_string(m_plan.steps.size() - 1) + "]",
              "the last step is " + format_weight(m_plan.steps.back()) +
                  "; end at 100, or hold at a lower share with stepWeight + maxWeight");
      }
      return;
    }
    if (!m_s.step_weight) return;  // already reported
    const int max = m_s.max_weight.value_or(k_full_weight);
    if (*m_s.step_weight > max) {
      error("stepWeight", "stepWeight " + format_weight(*m_s.step_weight) + " is larger than maxWeight " +
                              format_weight(max));
      return;
    }
    if (*m_s.step_weight <= 0 || max <= 0) {
      error(*m_s.step_weight <= 0 ? "stepWeight" : "maxWeight",
            "the steps move no traffic (a weight of 0%); give a weight of at least 0.01");
      return;
    }
    // Count the steps before building any: ceil(max / step), the last one being max itself.
    const long long count = (static_cast<long long>(max) + *m_s.step_weight - 1) / *m_s.step_weight;
    if (count > static_cast<long long>(k_max_steps)) {
      error("stepWeight", "stepWeight " + format_weight(*m_s.step_weight) + " up to " + format_weight(max) + " gives " +
                              std::to_string(count) + " steps; at most " + std::to_string(k_max_steps) +
                              " are allowed, use a larger stepWeight");
      return;
    }
    m_plan.steps.clear();
    m_plan.steps.reserve(static_cast<std::size_t>(count));
    for (int w = *m_s.step_weight; w < max; w += *m_s.step_weight) m_plan.steps.push_back(w);
    m_plan.steps.push_back(max);
  }

  void timing() {
    if (m_plan.interval < std::chrono::seconds(1)) error("interval", "must be at least 1s");
    if (m_plan.bake.count() < 0) error("bake", "must not be negative");
    if (m_s.has("interval") && m_s.has("bake") && m_plan.interval > m_plan.bake && m_plan.bake.count() > 0) {
      warning("interval", "interval " + format_duration(m_plan.interval) + " is longer than bake " +
                              format_duration(m_plan.bake) + ": each step bakes for at least one interval");
    }
    if (m_plan.rollback.step_interval < std::chrono::seconds(1)) {
      error("rollback.stepInterval", "must be at least 1s");
    }
  }

  void windows() {
    if (m_s.has("windows.timezone") && m_plan.windows.timezone == "localtime") {
      warning("windows.timezone",
              "'localtime' is the runner host's /etc/localtime, not a fixed zone: the same windows mean different "
              "times on a VM and in a container (usually UTC); name the zone, e.g. Europe/Berlin");
    }
    std::vector<WindowsProblem> problems;
    (void)WindowSchedule::create(m_plan.windows, &problems);
    for (const auto& problem : problems) {
      const TreeNode& node = m_s.at(problem.field);
      TreeNode at = node;
      if (problem.field != "windows.timezone") {
        // Point at the bad part of the entry: past the opening quote of a quoted string.
        at.column = node.column + static_cast<int>(problem.offset) + (node.style == TreeNode::Style::String ? 1 : 0);
      }
      m_b.error(at, problem.field, problem.message);
    }
  }

  void gates() {
    const auto& g = m_plan.gates;
    if (g.min_requests < 0) error("gates.minRequests", "must not be negative");
    if (g.failure_limit < 1) error("gates.failureLimit", "must be at least 1");
    if (g.failure_limit > k_max_sensible_failure_limit) {
      warning("gates.failureLimit",
              "failureLimit " + m_s.at("gates.failureLimit").scalar + " means as many failing evaluations in a "
                  "row (at least " +
                  format_duration(m_plan.interval * static_cast<Duration::rep>(g.failure_limit)) +
                  " of failing gates) before a rollback: practically never; use a small number such as 3");
    }
    if (g.max_hold.count() < 0) error("gates.maxHold", "must not be negative (0 means hold without limit)");
    if (!(g.confidence >= 0.5 && g.confidence <= 0.9999)) {
      error("gates.confidence", "must be between 0.5 and 0.9999 (e.g. 0.99)");
    }
    if (!(g.breach_factor > 1.0 && g.breach_factor <= 100.0)) {
      error("gates.breachFactor", "must be greater than 1 and at most 100 (e.g. 2: a breach is twice the bound)");
    } else if (g.breach_factor - 1.0 < 1e-3) {
      warning("gates.breachFactor",
              "a breach factor this close to 1 leaves the sequential test almost nothing between the bound and a "
              "breach: it would practically never decide, and gates would hold until maxHold; use e.g. 2");
    }
    if (m_s.has("gates.slos") && g.slos.empty()) {
      error("gates.slos", "list at least one SLO; meshmove never moves traffic without a gate");
    }
    std::map<std::string, std::string> names;
    for (std::size_t i = 0; i < g.slos.size(); ++i) {
      const std::string p = "gates.slos[" + std::to_string(i) + "]";
      slo(g.slos[i], p, names);
      if (m_plan.control_plane.route == RouteKind::MeshTcpRoute && g.slos[i].type != SloType::Custom) {
        warning(p, std::string("a ") + to_string(g.slos[i].type) +
                       " SLO reads Envoy's HTTP request stats, which a service routed by mesh-tcp-route does not "
                       "produce; use a custom query on TCP stats (e.g. envoy_cluster_upstream_cx_connect_fail)");
      }
    }
  }

  void slo(const Slo& s, const std::string& p, std::map<std::string, std::string>& names) {
    if (m_s.has(p + ".name")) {
      static const std::regex name_re("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}");
      if (!std::regex_match(s.name, name_re)) {
        error(p + ".name", "'" + s.name + "' is not a valid SLO name (letters, digits, _ . -; at most 63)");
      } else if (const auto [it, fresh] = names.emplace(s.name, p); !fresh) {
        error(p + ".name", "the SLO name '" + s.name + "' is already used by " + it->second);
      }
    }
    if (m_s.untyped_slos.count(p) > 0) {
      error(p, "an SLO needs a type (error-rate or latency) or a custom query");
      return;
    }
    if (s.min_requests && *s.min_requests < 0) error(p + ".minRequests", "must not be negative");
    // A field written with a bad value was reported already; do not also call it missing.
    const auto given = [&](const char* field, bool parsed) { return parsed || m_s.has(p + "." + field); };
    const auto forbid = [&](const char* field, bool present, const std::string& why) {
      if (present) error(p + "." + field, why);
    };
    const auto fraction = [&](const char* field, const std::optional<double>& v) {
      if (v && !(*v >= 0.0 && *v <= 1.0)) {
        error(p + "." + field, "is a fraction between 0 and 1 (0.01 means 1%), got " + m_s.at(p + "." + field).scalar);
      }
    };
    const bool custom = !s.query.empty();
    if (custom && s.type != SloType::Custom) {
      error(p + ".query", std::string("a custom query cannot be combined with type ") + to_string(s.type) +
                              "; remove type or the query");
      return;
    }
    if (!custom && s.type == SloType::Custom) {
      error(p, "type custom needs a query");
      return;
    }
    forbid("min", s.min && !custom, "min applies to custom queries only");
    forbid("percentile", s.percentile && s.type != SloType::Latency, "percentile applies to latency SLOs only");
    forbid("threshold", s.threshold && s.type != SloType::Latency, "threshold applies to latency SLOs only");
    forbid("maxSlowFraction", s.max_slow_fraction && s.type != SloType::Latency,
           "maxSlowFraction applies to latency SLOs only");
    forbid("maxIncrease", s.max_increase && !s.relative_to_from, "maxIncrease needs relativeTo: from");
    if (s.relative_to_from) {
      if (s.type != SloType::ErrorRate) {
        error(p + ".relativeTo", "relativeTo: from is supported for error-rate SLOs");
      } else if (!given("maxIncrease", s.max_increase.has_value())) {
        error(p, "relativeTo: from needs maxIncrease (the allowed rise of the error rate, e.g. 0.005)");
      }
      fraction("maxIncrease", s.max_increase);
      forbid("max", s.max.has_value(), "a relative SLO is bounded by maxIncrease, not max");
      if (m_s.has(p + ".set") && s.set != SetSelector::To) {
        error(p + ".set", "a relative SLO always judges the to set against the from set");
      }
      return;
    }
    switch (s.type) {
      case SloType::ErrorRate:
        if (!given("max", s.max.has_value())) {
          error(p, "an error-rate SLO needs max (the highest acceptable fraction of 5xx, e.g. 0.01)");
        } else if (!s.max) {
          break;
        } else if (m_s.max_was_duration.count(p + ".max") > 0) {
          error(p + ".max", "an error rate is a fraction (e.g. 0.01), not a duration");
        } else {
          fraction("max", s.max);
        }
        break;
      case SloType::Latency: {
        const bool quantile = given("percentile", s.percentile.has_value()) || given("max", s.max.has_value());
        const bool slow = given("threshold", s.threshold.has_value()) ||
                          given("maxSlowFraction", s.max_slow_fraction.has_value());
        if (quantile && slow) {
          error(p, "give either percentile + max, or threshold + maxSlowFraction, not both");
        } else if (!quantile && !slow) {
          error(p, "a latency SLO needs a bound: percentile + max (e.g. 99 and 500ms), or threshold + "
                   "maxSlowFraction (e.g. 300ms and 0.01)");
        } else if (quantile) {
          if (!given("percentile", s.percentile.has_value())) {
            error(p, "a latency SLO with max needs percentile (e.g. 99)");
          }
          if (!given("max", s.max.has_value())) error(p, "a latency SLO with percentile needs max (e.g. 500ms)");
          if (s.percentile && !(*s.percentile > 0 && *s.percentile < 100)) {
            error(p + ".percentile", "must be between 0 and 100 (exclusive), e.g. 99 or 99.9");
          }
          if (s.max && *s.max <= 0) error(p + ".max", "must be greater than 0 milliseconds");
        } else {
          if (!given("threshold", s.threshold.has_value())) error(p, "maxSlowFraction needs threshold (e.g. 300ms)");
          if (!given("maxSlowFraction", s.max_slow_fraction.has_value())) {
            error(p, "threshold needs maxSlowFraction (e.g. 0.01)");
          }
          if (s.threshold && *s.threshold <= 0) error(p + ".threshold", "must be greater than 0 milliseconds");
          fraction("maxSlowFraction", s.max_slow_fraction);
        }
        break;
      }
      case SloType::Custom:
        if (!given("max", s.max.has_value()) && !given("min", s.min.has_value())) error(p, "a custom query needs max and/or min (the bound its value is compared with)");
        if (s.max && s.min && *s.min > *s.max) error(p + ".min", "min is larger than max");
        query_variables_check(s.query, p + ".query");
        break;
    }
  }

  void query_variables_check(const std::string& query, const std::string& path) {
    std::size_t pos = 0;
    while ((pos = query.find("{{", pos)) != std::string::npos) {
      const auto end = query.find("}}", pos + 2);
      if (end == std::string::npos) {
        error(path, "unclosed '{{' at offset " + std::to_string(pos) + "; variables are written {{name}}");
        return;
      }
      std::string name = query.substr(pos + 2, end - pos - 2);
      const auto b = name.find_first_not_of(' ');
      const auto e = name.find_last_not_of(' ');
      name = b == std::string::npos ? "" : name.substr(b, e - b + 1);
      const auto& vars = query_variables();
      if (std::find(vars.begin(), vars.end(), name) == vars.end()) {
        std::string msg = "unknown variable {{" + name + "}}";
        const std::string hint = did_you_mean(name, vars);
        if (!hint.empty()) msg += "; did you mean {{" + hint + "}}?";
        msg += " (known: {{service}} {{mesh}} {{subset}} {{tagKey}} {{window}} {{from}} {{to}})";
        error(path, msg);
      }
      pos = end + 2;
    }
  }

  void notify() {
    for (std::size_t i = 0; i < m_plan.notify.size(); ++i) {
      const std::string p = "notify[" + std::to_string(i) + "].webhook";
      const auto& w = m_plan.notify[i].webhook;
      if (!m_s.has(p)) continue;
      if (w.url.empty() == w.url_file.empty()) {
        error(p, "give exactly one of url and urlFile (urlFile for URLs that are secrets, such as Slack webhooks)");
      } else if (!w.url.empty() && w.url.rfind("http://", 0) != 0 && w.url.rfind("https://", 0) != 0) {
        error(p + ".url", "'" + w.url + "' is not an http:// or https:// URL");
      }
      if (w.timeout.count() <= 0) error(p + ".timeout", "must be greater than 0");
    }
  }

  Binder& m_b;
  ParseState& m_s;
  Plan& m_plan;
};

}  // namespace

void run_plan_checks(Binder& binder, ParseState& state) { Checks(binder, state).run(); }

}  // namespace meshmove::planner
