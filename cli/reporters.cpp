#include "cli/reporters.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "backends/atomic_file.hpp"
#include "cli/text_format.hpp"
#include "planner/time_format.hpp"

namespace meshmove::cli {
namespace {

using Kind = planner::EngineEvent::Kind;

std::string gate_line(const planner::GateEvaluation& g) {
  return g.slo + " [" + g.set + "] " + planner::to_string(g.verdict) + " " + format_number(g.value) + " (bound " +
         format_number(g.bound) + ", " + format_number(g.samples) + " requests): " + g.reason;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string seconds_between(planner::TimePoint a, planner::TimePoint b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", std::chrono::duration<double>(b - a).count());
  return buf;
}

}  // namespace

std::string weight_bar(int basis_points, int width) {
  const int filled = std::clamp(basis_points * width / planner::k_full_weight, 0, width);
  return "[" + std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(width - filled), '-') +
         "]";
}

std::string describe_event(const planner::Plan& plan, const planner::EngineEvent& e) {
  // "drift: drift: ..." says nothing twice: a message that starts with its kind stands alone.
  const std::string kind = planner::to_string(e.kind);
  std::string line = e.message.rfind(kind, 0) == 0 ? e.message : kind + ": " + e.message;
  if ((e.kind == Kind::Wrote || e.kind == Kind::RolledBack) && e.to_weight >= 0) {
    line += " [" + planner::format_weight(e.to_weight) + "% to " + plan.to + ", was " +
            planner::format_weight(std::max(0, e.from_weight)) + "%]";
  }
  if (e.kind == Kind::Waiting && e.until) line += " (until " + planner::format_rfc3339(*e.until) + ")";
  return line;
}

void LineReporter::report(const planner::Plan& plan, const planner::EngineEvent& e) {
  if (!m_verbose && (e.kind == Kind::Waiting)) return;
  const std::lock_guard<std::mutex> lock(m_mutex);
  const std::string prefix = planner::format_rfc3339(e.at) + " " + e.migration + " ";
  if (e.kind == Kind::Evaluated) {
    // One line per evaluation; every gate on its own line when verbose or when any gate is not passing.
    std::string verdicts;
    bool trouble = false;  // a FAIL or an ERROR: worth every detail
    for (const auto& g : e.gates) {
      verdicts += (verdicts.empty() ? "" : ", ") + g.slo + " " + planner::to_string(g.verdict);
      trouble = trouble || g.verdict == planner::Verdict::Fail || g.verdict == planner::Verdict::Error;
    }
    m_out << prefix << "evaluated at " << planner::format_weight(e.state ? e.state->weight : 0) << "%: " << verdicts << "\n";
    if (m_verbose || trouble) {
      for (const auto& g : e.gates) m_out << prefix << "  " << gate_line(g) << "\n";
    }
  } else {
    m_out << prefix << describe_event(plan, e) << "\n";
  }
  m_out.flush();
}

void JsonEventReporter::report(const planner::Plan& plan, const planner::EngineEvent& e) {
  nlohmann::json j{{"at", planner::format_rfc3339(e.at)},
                   {"migration", e.migration},
                   {"event", planner::to_string(e.kind)},
                   {"message", e.message},
                   {"service", plan.service}};
  if (e.state != nullptr) {
    j["phase"] = planner::to_string(e.state->phase);
    j["step"] = e.state->step;
    j["weight"] = e.state->weight / 100.0;
  }
  if (e.to_weight >= 0) {
    j["fromWeight"] = std::max(0, e.from_weight) / 100.0;
    j["toWeight"] = e.to_weight / 100.0;
  }
  if (e.until) j["until"] = planner::format_rfc3339(*e.until);
  if (!e.gates.empty()) {
    j["gates"] = nlohmann::json::array();
    for (const auto& g : e.gates) {
      j["gates"].push_back({{"slo", g.slo},
                            {"set", g.set},
                            {"verdict", planner::to_string(g.verdict)},
                            {"value", g.value ? nlohmann::json(*g.value) : nlohmann::json(nullptr)},
                            {"bound", g.bound},
                            {"samples", g.samples ? nlohmann::json(*g.samples) : nlohmann::json(nullptr)},
                            {"reason", g.reason}});
    }
  }
  const std::lock_guard<std::mutex> lock(m_mutex);
  m_out << j.dump() << "\n";
  m_out.flush();
}

LiveView::LiveView(std::ostream& out, planner::Clock& clock, bool color) : m_out(out), m_clock(clock), m_color(color) {
  m_thread = std::thread([this] {
    while (!m_stop.load()) {
      m_clock.sleep(std::chrono::seconds(1));
      const std::lock_guard<std::mutex> lock(m_mutex);
      if (!m_stop.load() && !m_rows.empty()) draw_locked();
    }
  });
}

LiveView::~LiveView() { stop(); }

void LiveView::stop() {
  m_stop = true;
  if (m_thread.joinable()) m_thread.join();
}

void LiveView::report(const planner::Plan& plan, const planner::EngineEvent& e) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  if (m_rows.find(e.migration) == m_rows.end()) m_order.push_back(e.migration);
  Row& row = m_rows[e.migration];
  row.plan = &plan;
  if (e.state != nullptr) row.state = *e.state;
  if (e.kind == Kind::Waiting) {
    row.next = e.message;
    row.next_at = e.until;
  }
  const bool finished = e.kind == Kind::Promoted || e.kind == Kind::RolledBack || e.kind == Kind::Paused ||
                        e.kind == Kind::Drift || e.kind == Kind::Interrupted;
  if (finished) {
    row.next.clear();
    row.next_at.reset();
  }
  // Lasting events are printed above the view; the view is redrawn below them.
  const bool lasting = e.kind != Kind::Waiting && e.kind != Kind::Evaluated;
  if (lasting) {
    if (m_drawn_lines > 0) m_out << "\033[" << m_drawn_lines << "A\033[J";
    m_drawn_lines = 0;
    m_out << planner::format_rfc3339(e.at).substr(11, 8) << " " << e.migration << " " << describe_event(plan, e) << "\n";
  }
  draw_locked();
}

void LiveView::draw_locked() {
  std::ostringstream o;
  int lines = 0;
  const auto now = m_clock.now();
  const auto paint = [this](const std::string& s, int code) {
    return m_color ? "\033[" + std::to_string(code) + "m" + s + "\033[0m" : s;
  };
  for (const auto& name : m_order) {
    const Row& r = m_rows[name];
    if (r.plan == nullptr) continue;
    const auto& s = r.state;
    const auto& plan = *r.plan;
    o << paint(name, 1) << "  " << planner::to_string(s.phase) << "  step " << (s.step + 1) << "/" << plan.steps.size()
      << "  " << weight_bar(s.weight, 30) << " " << planner::format_weight(s.weight) << "% to " << plan.to;
    if (s.phase == planner::Phase::Ramping && s.step >= 0 && s.step_started_at) {
      const auto bake_end = *s.step_started_at + plan.bake;
      if (bake_end > now) {
        o << "  bake " << planner::format_duration(std::chrono::duration_cast<std::chrono::seconds>(bake_end - now))
          << " left";
      } else {
        o << "  baked";
      }
    }
    o << "\n";
    ++lines;
    for (const auto& g : s.last_verdicts) {
      const int colour = g.verdict == "PASS" ? 32 : g.verdict == "FAIL" ? 31 : 33;
      o << "    " << g.slo << " [" << g.set << "] " << paint(g.verdict, colour) << " " << format_number(g.value) << " (bound "
        << format_number(g.bound) << ", " << format_number(g.samples) << " requests)\n";
      ++lines;
    }
    if (!r.next.empty()) {
      o << "    next: " << r.next;
      if (r.next_at && *r.next_at > now) {
        o << " (" << planner::format_duration(std::chrono::duration_cast<std::chrono::seconds>(*r.next_at - now))
          << ")";
      }
      o << "\n";
      ++lines;
    }
  }
  if (m_drawn_lines > 0) m_out << "\033[" << m_drawn_lines << "A\033[J";
  m_out << o.str();
  m_out.flush();
  m_drawn_lines = lines;
}

JUnitReport::Case& JUnitReport::current(const planner::Plan& plan, const planner::EngineEvent& e) {
  Suite* suite = nullptr;
  for (auto& s : m_suites) {
    if (s.name == e.migration) suite = &s;
  }
  if (suite == nullptr) {
    m_suites.push_back(Suite{e.migration, e.at, {}});
    suite = &m_suites.back();
  }
  const int step = e.state != nullptr ? e.state->step : e.step;
  const int weight = e.state != nullptr ? e.state->weight : 0;
  const std::string name = step < 0 ? "pinned: 0% to " + plan.to
                                    : "step " + std::to_string(step + 1) + " of " + std::to_string(plan.steps.size()) +
                                          ": " + planner::format_weight(weight) + "% to " + plan.to;
  if (suite->cases.empty() || suite->cases.back().name != name) {
    suite->cases.push_back(Case{name, e.at, e.at, {}, "", "", ""});
  }
  return suite->cases.back();
}

void JUnitReport::report(const planner::Plan& plan, const planner::EngineEvent& e) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  if (e.kind == Kind::Waiting) return;
  Case& c = current(plan, e);
  c.end = e.at;
  c.output.push_back(planner::format_rfc3339(e.at) + " " + describe_event(plan, e));
  for (const auto& g : e.gates) c.output.push_back("  " + gate_line(g));
  switch (e.kind) {
    case Kind::RolledBack: c.failure = e.message; break;
    case Kind::Drift:
    case Kind::Error: c.error = e.message; break;
    case Kind::Paused:
    case Kind::Interrupted: c.skipped = e.message; break;
    default: break;
  }
}

std::string JUnitReport::xml() const {
  const std::lock_guard<std::mutex> lock(m_mutex);
  std::ostringstream o;
  std::size_t tests = 0, failures = 0, errors = 0;
  for (const auto& s : m_suites) {
    for (const auto& c : s.cases) {
      ++tests;
      failures += c.failure.empty() ? 0 : 1;
      errors += c.error.empty() ? 0 : 1;
    }
  }
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o << "<testsuites name=\"meshmove\" tests=\"" << tests << "\" failures=\"" << failures << "\" errors=\"" << errors
    << "\">\n";
  for (const auto& s : m_suites) {
    std::size_t f = 0, e = 0, k = 0;
    for (const auto& c : s.cases) {
      f += c.failure.empty() ? 0 : 1;
      e += c.error.empty() ? 0 : 1;
      k += c.skipped.empty() ? 0 : 1;
    }
    const auto end = s.cases.empty() ? s.start : s.cases.back().end;
    o << "  <testsuite name=\"" << xml_escape(s.name) << "\" tests=\"" << s.cases.size() << "\" failures=\"" << f
      << "\" errors=\"" << e << "\" skipped=\"" << k << "\" timestamp=\"" << planner::format_rfc3339(s.start)
      << "\" time=\"" << seconds_between(s.start, end) << "\">\n";
    for (const auto& c : s.cases) {
      o << "    <testcase classname=\"" << xml_escape(s.name) << "\" name=\"" << xml_escape(c.name) << "\" time=\""
        << seconds_between(c.start, c.end) << "\">\n";
      if (!c.failure.empty()) {
        o << "      <failure message=\"" << xml_escape(c.failure) << "\" type=\"rollback\"/>\n";
      }
      if (!c.error.empty()) o << "      <error message=\"" << xml_escape(c.error) << "\"/>\n";
      if (!c.skipped.empty()) o << "      <skipped message=\"" << xml_escape(c.skipped) << "\"/>\n";
      o << "      <system-out>";
      for (const auto& line : c.output) o << xml_escape(line) << "\n";
      o << "</system-out>\n    </testcase>\n";
    }
    o << "  </testsuite>\n";
  }
  o << "</testsuites>\n";
  return o.str();
}

planner::Status JUnitReport::write(const std::string& path) const {
  // Through an unpredictable temporary file (a planted "r.xml.tmp" link is never followed); 0644: CI
  // systems read reports as another user.
  backends::AtomicWriteOptions o;
  o.mode = 0644;
  o.error_kind = planner::ErrorKind::Config;
  o.what = "the report";
  return backends::write_file_atomically(path, xml(), o);
}

}  // namespace meshmove::cli
