#include "planner/plan_parser.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "planner/did_you_mean.hpp"
#include "planner/plan_binder.hpp"
#include "planner/plan_checks.hpp"

namespace meshmove::planner {
namespace {

using Field = Binder::Field;

class PlanReader {
 public:
  PlanReader(const std::string& file, std::vector<Diagnostic>& diagnostics) : m_binder(file, diagnostics) {
    m_s.plan.file = file;
  }

  void read(const TreeNode& root) {
    m_s.root = &root;
    if (m_binder.object(root, "", root_fields())) run_plan_checks(m_binder, m_s);
  }

  Plan take() { return std::move(m_s.plan); }

 private:
  // Records where a field was found, for cross-field checks.
  void note(const std::string& path, const TreeNode& n) { m_s.nodes[path] = &n; }
  void note_items(const TreeNode& list, const std::string& path) {
    for (std::size_t i = 0; i < list.seq.size(); ++i) note(Binder::index(path, i), list.seq[i]);
  }

  template <class F>
  Field field(std::string name, F reader, bool required = false, std::string hint = "") {
    return Field{std::move(name),
                 [this, reader](const TreeNode& v, const std::string& path) {
                   note(path, v);
                   reader(v, path);
                 },
                 required, std::move(hint)};
  }
  Field text(std::string name, std::string& out, bool required = false) {
    return field(std::move(name), [this, &out](const TreeNode& v, const std::string& p) { m_binder.string(v, p, out); },
                 required);
  }
  Field dur(std::string name, Duration& out) {
    return field(std::move(name),
                 [this, &out](const TreeNode& v, const std::string& p) { m_binder.duration(v, p, out); });
  }
  Field flag(std::string name, bool& out) {
    return field(std::move(name), [this, &out](const TreeNode& v, const std::string& p) { m_binder.boolean(v, p, out); });
  }
  Field opt_number(std::string name, std::optional<double>& out) {
    return field(std::move(name), [this, &out](const TreeNode& v, const std::string& p) {
      double d = 0;
      if (m_binder.number(v, p, d)) out = d;
    });
  }

  std::vector<Field> root_fields() {
    return {
        text("apiVersion", m_s.plan.api_version, true),
        text("kind", m_s.plan.kind, true),
        field("metadata", [this](const TreeNode& v, const std::string& p) { read_metadata(v, p); }, true),
        text("service", m_s.plan.service, true),
        text("mesh", m_s.plan.mesh),
        text("tagKey", m_s.plan.tag_key),
        text("from", m_s.plan.from, true),
        text("to", m_s.plan.to, true),
        field("controlPlane", [this](const TreeNode& v, const std::string& p) { read_control_plane(v, p); }),
        field("steps", [this](const TreeNode& v, const std::string& p) { read_steps(v, p); }),
        field("stepWeight", [this](const TreeNode& v, const std::string& p) { read_weight(v, p, m_s.step_weight); }),
        field("maxWeight", [this](const TreeNode& v, const std::string& p) { read_weight(v, p, m_s.max_weight); }),
        dur("bake", m_s.plan.bake),
        dur("interval", m_s.plan.interval),
        dur("settle", m_s.plan.settle),
        field("windows", [this](const TreeNode& v, const std::string& p) { read_windows(v, p); }),
        field("gates", [this](const TreeNode& v, const std::string& p) { read_gates(v, p); }, true,
              "meshmove never moves traffic without SLO gates"),
        field("rollback", [this](const TreeNode& v, const std::string& p) { read_rollback(v, p); }),
        field("notify", [this](const TreeNode& v, const std::string& p) { read_notify(v, p); }),
    };
  }

  void read_metadata(const TreeNode& n, const std::string& path) {
    m_binder.object(n, path,
                    {
                        text("name", m_s.plan.name, true),
                        field("labels",
                              [this](const TreeNode& v, const std::string& p) {
                                if (!v.is_map()) {
                                  m_binder.error(v, p, "expected a mapping of label names to values, got " +
                                                           v.describe());
                                  return;
                                }
                                for (const auto& [key, value] : v.map) {
                                  std::string s;
                                  if (m_binder.string(value, Binder::child(p, key.scalar), s)) {
                                    m_s.plan.labels[key.scalar] = s;
                                  }
                                }
                              }),
                    });
  }

  void read_control_plane(const TreeNode& n, const std::string& path) {
    auto& cp = m_s.plan.control_plane;
    m_binder.object(
        n, path,
        {
            field("type",
                  [this, &cp](const TreeNode& v, const std::string& p) {
                    m_binder.enumeration<ControlPlaneType>(v, p,
                                                           {{"kuma", ControlPlaneType::Kuma},
                                                            {"kubernetes", ControlPlaneType::Kubernetes},
                                                            {"consul", ControlPlaneType::Consul},
                                                            {"file", ControlPlaneType::File}},
                                                           cp.type);
                  }),
            text("url", cp.url),
            field("route",
                  [this, &cp](const TreeNode& v, const std::string& p) {
                    m_binder.enumeration<RouteKind>(v, p,
                                                    {{"mesh-http-route", RouteKind::MeshHttpRoute},
                                                     {"mesh-tcp-route", RouteKind::MeshTcpRoute},
                                                     {"traffic-route", RouteKind::TrafficRoute},
                                                     {"mesh-service", RouteKind::MeshService}},
                                                    cp.route);
                  }),
            text("policyName", cp.policy_name),
            text("tokenFile", cp.token_file),
            text("caFile", cp.ca_file),
            text("certFile", cp.cert_file),
            text("keyFile", cp.key_file),
            flag("insecureSkipVerify", cp.insecure_skip_verify),
            dur("timeout", cp.timeout),
            text("namespace", cp.namespace_),
        });
  }

  void read_weight(const TreeNode& v, const std::string& p, std::optional<int>& out) {
    double d = 0;
    if (!m_binder.number(v, p, d)) return;
    if (!(d > 0 && d <= 100)) {
      m_binder.error(v, p, "a weight is a percentage in (0, 100], got " + v.scalar);
      return;
    }
    // Whole basis points only. The tolerance absorbs binary rounding of decimal input (0.07 * 100 is
    // 7.000000000000001; the error stays below 1e-11 bp up to 100 %), never a real fraction of a basis
    // point, and a non-zero weight that rounds to 0 bp (1e-8, 5e-324) is refused: a step of 0 would
    // move nothing (and made the stepWeight loop endless).
    const double bp = d * 100;
    const double whole = std::round(bp);
    if (whole < 1 || std::fabs(bp - whole) > 1e-9) {
      m_binder.error(v, p, "weights have at most two decimals (0.01 percent), got " + v.scalar);
      return;
    }
    out = static_cast<int>(whole);
  }

  void read_steps(const TreeNode& n, const std::string& path) {
    if (!n.is_seq()) {
      m_binder.error(n, path, "expected a list of percentages such as [1, 5, 25, 50, 100], got " + n.describe());
      return;
    }
    if (n.seq.empty()) {
      m_binder.error(n, path, "the list of steps is empty; give at least one weight, e.g. [100]");
      return;
    }
    m_s.steps_given = true;
    if (n.seq.size() > k_max_steps) {
      m_s.steps_invalid = true;
      m_binder.error(n, path, "the list has " + std::to_string(n.seq.size()) + " steps; at most " +
                                  std::to_string(k_max_steps) + " are allowed");
      return;
    }
    int previous = 0;
    for (std::size_t i = 0; i < n.seq.size(); ++i) {
      const std::string p = Binder::index(path, i);
      note(p, n.seq[i]);
      std::optional<int> w;
      read_weight(n.seq[i], p, w);
      if (!w) {
        m_s.steps_invalid = true;
        continue;
      }
      if (*w <= previous) {
        m_s.steps_invalid = true;
        m_binder.error(n.seq[i], p,
                       "steps must be strictly increasing: " + format_weight(*w) + " follows " +
                           format_weight(previous));
      }
      previous = std::max(previous, *w);
      m_s.plan.steps.push_back(*w);
    }
  }

  void read_windows(const TreeNode& n, const std::string& path) {
    auto& w = m_s.plan.windows;
    m_binder.object(n, path,
                    {
                        field("timezone",
                              [this, &w](const TreeNode& v, const std::string& p) {
                                w.timezone_pos = {v.line, v.column};
                                m_binder.string(v, p, w.timezone);
                              }),
                        field("allow",
                              [this, &w](const TreeNode& v, const std::string& p) {
                                m_binder.string_list(v, p, w.allow, &w.allow_pos);
                                note_items(v, p);
                              }),
                        field("freeze",
                              [this, &w](const TreeNode& v, const std::string& p) {
                                m_binder.string_list(v, p, w.freeze, &w.freeze_pos);
                                note_items(v, p);
                              }),
                    });
  }

  void read_prometheus(const TreeNode& n, const std::string& path) {
    auto& pr = m_s.plan.gates.prometheus;
    m_binder.object(n, path,
                    {
                        text("url", pr.url),
                        dur("timeout", pr.timeout),
                        text("tokenFile", pr.token_file),
                        text("caFile", pr.ca_file),
                        flag("insecureSkipVerify", pr.insecure_skip_verify),
                        field("basicAuth",
                              [this, &pr](const TreeNode& v, const std::string& p) {
                                BasicAuth auth;
                                m_binder.object(v, p,
                                                {text("username", auth.username, true),
                                                 text("passwordFile", auth.password_file, true)});
                                pr.basic_auth = auth;
                              }),
                    });
  }

  void read_gates(const TreeNode& n, const std::string& path) {
    auto& g = m_s.plan.gates;
    m_binder.object(
        n, path,
        {
            field("prometheus", [this](const TreeNode& v, const std::string& p) { read_prometheus(v, p); }),
            field("minRequests",
                  [this, &g](const TreeNode& v, const std::string& p) { m_binder.integer(v, p, g.min_requests); }),
            field("onNoData", [this, &g](const TreeNode& v, const std::string& p) { no_data(v, p, g.on_no_data); }),
            dur("maxHold", g.max_hold),
            field("onMaxHold",
                  [this, &g](const TreeNode& v, const std::string& p) {
                    m_binder.enumeration<MaxHoldAction>(
                        v, p, {{"pause", MaxHoldAction::Pause}, {"rollback", MaxHoldAction::Rollback}}, g.on_max_hold);
                  }),
            field("failureLimit",
                  [this, &g](const TreeNode& v, const std::string& p) {
                    long long x = 0;
                    if (m_binder.integer(v, p, x)) g.failure_limit = static_cast<int>(std::clamp(x, -1LL, 1000000LL));
                  }),
            field("decision",
                  [this, &g](const TreeNode& v, const std::string& p) {
                    m_binder.enumeration<DecisionMode>(
                        v, p, {{"sequential", DecisionMode::Sequential}, {"threshold", DecisionMode::Threshold}},
                        g.decision);
                  }),
            field("confidence",
                  [this, &g](const TreeNode& v, const std::string& p) { m_binder.number(v, p, g.confidence); }),
            field("breachFactor",
                  [this, &g](const TreeNode& v, const std::string& p) { m_binder.number(v, p, g.breach_factor); }),
            field("slos", [this](const TreeNode& v, const std::string& p) { read_slos(v, p); }, true,
                  "list at least one SLO, e.g. {name: errors, type: error-rate, max: 0.01}"),
        });
  }

  void no_data(const TreeNode& v, const std::string& p, NoDataAction& out) {
    m_binder.enumeration<NoDataAction>(
        v, p, {{"hold", NoDataAction::Hold}, {"fail", NoDataAction::Fail}, {"pass", NoDataAction::Pass}}, out);
  }

  void read_slos(const TreeNode& n, const std::string& path) {
    if (!n.is_seq()) {
      m_binder.error(n, path, "expected a list of SLOs, got " + n.describe());
      return;
    }
    for (std::size_t i = 0; i < n.seq.size(); ++i) {
      const std::string p = Binder::index(path, i);
      note(p, n.seq[i]);
      Slo slo;
      slo.pos = {n.seq[i].line, n.seq[i].column};
      bool type_given = false;
      m_binder.object(
          n.seq[i], p,
          {
              text("name", slo.name, true),
              field("type",
                    [this, &slo, &type_given](const TreeNode& v, const std::string& fp) {
                      type_given = m_binder.enumeration<SloType>(
                          v, fp,
                          {{"error-rate", SloType::ErrorRate}, {"latency", SloType::Latency}, {"custom", SloType::Custom}},
                          slo.type);
                    }),
              field("set",
                    [this, &slo](const TreeNode& v, const std::string& fp) {
                      m_binder.enumeration<SetSelector>(
                          v, fp, {{"to", SetSelector::To}, {"from", SetSelector::From}, {"both", SetSelector::Both}},
                          slo.set);
                    }),
              field("max",
                    [this, &slo](const TreeNode& v, const std::string& fp) {
                      // A latency bound may be written as a duration; the type decides later.
                      double d = 0;
                      if (v.is_scalar() && v.style != TreeNode::Style::Number && parse_duration(v.scalar)) {
                        if (m_binder.milliseconds(v, fp, d)) {
                          slo.max = d;
                          m_s.max_was_duration.insert(fp);
                        }
                      } else if (m_binder.number(v, fp, d)) {
                        slo.max = d;
                      }
                    }),
              opt_number("min", slo.min),
              opt_number("percentile", slo.percentile),
              field("threshold",
                    [this, &slo](const TreeNode& v, const std::string& fp) {
                      double d = 0;
                      if (m_binder.milliseconds(v, fp, d)) slo.threshold = d;
                    }),
              opt_number("maxSlowFraction", slo.max_slow_fraction),
              field("relativeTo",
                    [this, &slo](const TreeNode& v, const std::string& fp) {
                      std::string s;
                      if (!m_binder.string(v, fp, s)) return;
                      if (s != "from") {
                        m_binder.error(v, fp, "the only supported value is 'from' (compare the to set with the from set)");
                        return;
                      }
                      slo.relative_to_from = true;
                    }),
              opt_number("maxIncrease", slo.max_increase),
              text("query", slo.query),
              field("minRequests",
                    [this, &slo](const TreeNode& v, const std::string& fp) {
                      long long x = 0;
                      if (m_binder.integer(v, fp, x)) slo.min_requests = x;
                    }),
              field("onNoData",
                    [this, &slo](const TreeNode& v, const std::string& fp) {
                      NoDataAction a = NoDataAction::Hold;
                      no_data(v, fp, a);
                      slo.on_no_data = a;
                    }),
          });
      if (!type_given && slo.query.empty()) m_s.untyped_slos.insert(p);
      m_s.plan.gates.slos.push_back(std::move(slo));
    }
  }

  void read_rollback(const TreeNode& n, const std::string& path) {
    auto& r = m_s.plan.rollback;
    m_binder.object(n, path,
                    {
                        field("mode",
                              [this, &r](const TreeNode& v, const std::string& p) {
                                m_binder.enumeration<RollbackMode>(
                                    v, p, {{"immediate", RollbackMode::Immediate}, {"stepped", RollbackMode::Stepped}},
                                    r.mode);
                              }),
                        dur("stepInterval", r.step_interval),
                    });
  }

  void read_notify(const TreeNode& n, const std::string& path) {
    if (!n.is_seq()) {
      m_binder.error(n, path, "expected a list of notification targets, got " + n.describe());
      return;
    }
    for (std::size_t i = 0; i < n.seq.size(); ++i) {
      const std::string p = Binder::index(path, i);
      note(p, n.seq[i]);
      NotifyConfig cfg;
      m_binder.object(
          n.seq[i], p,
          {
              field("webhook",
                    [this, &cfg](const TreeNode& v, const std::string& wp) {
                      auto& w = cfg.webhook;
                      m_binder.object(v, wp,
                                      {text("url", w.url), text("urlFile", w.url_file), dur("timeout", w.timeout),
                                       field("retries", [this, &w](const TreeNode& rv, const std::string& rp) {
                                         long long x = 0;
                                         if (!m_binder.integer(rv, rp, x)) return;
                                         if (x < 0 || x > 10) {
                                           m_binder.error(rv, rp, "retries must be between 0 and 10");
                                           return;
                                         }
                                         w.retries = static_cast<int>(x);
                                       })});
                    },
                    true),
              field("events",
                    [this, &cfg](const TreeNode& v, const std::string& ep) {
                      if (!v.is_seq()) {
                        m_binder.error(v, ep, "expected a list of events, got " + v.describe());
                        return;
                      }
                      for (std::size_t k = 0; k < v.seq.size(); ++k) {
                        NotifyEvent e = NotifyEvent::Start;
                        if (m_binder.enumeration<NotifyEvent>(v.seq[k], Binder::index(ep, k),
                                                              {{"start", NotifyEvent::Start},
                                                               {"step", NotifyEvent::Step},
                                                               {"hold", NotifyEvent::Hold},
                                                               {"paused", NotifyEvent::Paused},
                                                               {"resumed", NotifyEvent::Resumed},
                                                               {"rollback", NotifyEvent::Rollback},
                                                               {"promoted", NotifyEvent::Promoted},
                                                               {"drift", NotifyEvent::Drift},
                                                               {"error", NotifyEvent::Error}},
                                                              e)) {
                          cfg.events.push_back(e);
                        }
                      }
                    }),
          });
      m_s.plan.notify.push_back(std::move(cfg));
    }
  }

  Binder m_binder;
  ParseState m_s;
};

}  // namespace

const std::vector<std::string>& query_variables() {
  static const std::vector<std::string> vars{"service", "mesh", "subset", "tagKey", "window", "from", "to"};
  return vars;
}

bool is_rfc1123_label(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : name) {
    if (!alnum(c) && c != '-') return false;
  }
  return alnum(name.front()) && alnum(name.back());
}

PlanParseResult parse_plan(std::string_view text, const std::string& file, DocumentFormat format) {
  PlanParseResult result;
  const auto tree = parse_tree(text, file, format, result.diagnostics);
  if (!tree) return result;
  if (!tree->is_map()) {
    result.diagnostics.push_back(Diagnostic{file, tree->line, tree->column, "",
                                            "a plan is a mapping of fields (apiVersion, kind, metadata, ...), got " +
                                                tree->describe(),
                                            Severity::Error});
    return result;
  }
  PlanReader reader(file, result.diagnostics);
  reader.read(*tree);
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  if (!has_errors(result.diagnostics)) result.plan = reader.take();
  return result;
}

}  // namespace meshmove::planner
