#include "tests/bench/fake_prometheus.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "metrics/gate_verdict.hpp"
#include "planner/duration.hpp"

namespace meshmove::bench {
namespace {

using planner::ErrorKind;
using planner::make_error;

constexpr std::string_view k_requests = "envoy_cluster_upstream_rq_total";
constexpr std::string_view k_classes = "envoy_cluster_upstream_rq_xx";
constexpr std::string_view k_buckets = "envoy_cluster_upstream_rq_time_bucket";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded value.
std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string form_field(std::string_view body, std::string_view name) {
  std::size_t pos = 0;
  while (pos <= body.size()) {
    const std::size_t amp = std::min(body.find('&', pos), body.size());
    const std::string_view pair = body.substr(pos, amp - pos);
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return form_decode(pair.substr(eq + 1));
    pos = amp + 1;
  }
  return {};
}

struct Matcher {
  std::string name;
  std::string op;
  std::string value;
};

// Parses `name op "value", ...` up to the closing brace at `pos`; advances `pos` past it.
std::optional<std::vector<Matcher>> parse_matchers(const std::string& q, std::size_t& pos) {
  std::vector<Matcher> out;
  while (pos < q.size() && q[pos] != '}') {
    Matcher m;
    while (pos < q.size() && (std::isalnum(static_cast<unsigned char>(q[pos])) != 0 || q[pos] == '_'))
      m.name += q[pos++];
    for (const char* op : {"=~", "!~", "!=", "="}) {
      if (q.compare(pos, std::string_view(op).size(), op) == 0) {
        m.op = op;
        pos += m.op.size();
        break;
      }
    }
    if (m.name.empty() || m.op.empty() || pos >= q.size() || q[pos] != '"') return std::nullopt;
    ++pos;
    while (pos < q.size() && q[pos] != '"') {
      if (q[pos] == '\\' && pos + 1 < q.size()) {
        ++pos;
        m.value += q[pos] == 'n' ? '\n' : q[pos];
      } else {
        m.value += q[pos];
      }
      ++pos;
    }
    if (pos >= q.size()) return std::nullopt;
    ++pos;  // closing quote
    out.push_back(std::move(m));
    if (pos < q.size() && q[pos] == ',') ++pos;
  }
  if (pos >= q.size()) return std::nullopt;
  ++pos;  // closing brace
  return out;
}

// Removes the backslashes of escape_promql_regex.
std::string regex_unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string sample_json(const std::string& labels, const std::string& time, double v) {
  return "{\"metric\":{" + labels + "},\"value\":[" + time + ",\"" + number(v) + "\"]}";
}

backends::HttpResponse answer(int status, std::string body) {
  backends::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers["content-type"] = "application/json";
  return r;
}

backends::HttpResponse bad_data(const std::string& message) {
  std::string escaped;
  for (char c : message) escaped += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return answer(400, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"" + escaped + "\"}");
}

}  // namespace

planner::Result<ParsedQuery> parse_query(const std::string& q) {
  ParsedQuery out;
  bool by_le = false, rate = false;
  std::size_t pos = 0;
  bool series = false;  // count(METRIC{...}): does the set have series (meshmove's pre-flight)
  if (q.rfind("count(", 0) == 0) {
    series = true;
    pos = std::string_view("count(").size();
  } else if (q.rfind("histogram_quantile(", 0) == 0) {
    pos = std::string_view("histogram_quantile(").size();
    char* end = nullptr;
    out.quantile = std::strtod(q.c_str() + pos, &end);
    pos = static_cast<std::size_t>(end - q.c_str());
    if (q.compare(pos, 2, ", ") != 0)
      return make_error(ErrorKind::Rejected, "unsupported histogram_quantile form");
    pos += 2;
    out.what = ParsedQuery::What::Quantile;
  }
  if (series) {
    // an instant selector follows
  } else if (q.compare(pos, 12, "sum by (le) ") == 0) {
    by_le = true;
    pos += 12;
    if (q.compare(pos, 1, "(") != 0) return make_error(ErrorKind::Rejected, "expected ( after sum by (le)");
    ++pos;
  } else if (q.compare(pos, 4, "sum(") == 0) {
    pos += 4;
  } else {
    return make_error(ErrorKind::Rejected, "unsupported query: " + q);
  }
  if (series) {
    // no function
  } else if (q.compare(pos, 9, "increase(") == 0) {
    pos += 9;
  } else if (q.compare(pos, 5, "rate(") == 0) {
    pos += 5;
    rate = true;
  } else {
    return make_error(ErrorKind::Rejected, "expected increase( or rate(: " + q);
  }
  const std::size_t brace = q.find('{', pos);
  if (brace == std::string::npos) return make_error(ErrorKind::Rejected, "no label matchers: " + q);
  const std::string metric = q.substr(pos, brace - pos);
  pos = brace + 1;
  const auto matchers = parse_matchers(q, pos);
  if (!matchers) return make_error(ErrorKind::Rejected, "malformed label matchers: " + q);
  if (series) {
    out.range = std::chrono::minutes(5);  // Prometheus's lookback for an instant selector
  } else {
    if (pos >= q.size() || q[pos] != '[') return make_error(ErrorKind::Rejected, "expected a range: " + q);
    const std::size_t close = q.find(']', pos);
    if (close == std::string::npos) return make_error(ErrorKind::Rejected, "unterminated range: " + q);
    const auto range = planner::parse_duration(std::string_view(q).substr(pos + 1, close - pos - 1));
    if (!range || range->count() <= 0) return make_error(ErrorKind::Rejected, "bad range: " + q);
    out.range = *range;
  }

  bool five_xx = false;
  for (const auto& m : *matchers) {
    if (m.name == "mesh" && m.op == "=") {
      out.mesh = m.value;
    } else if (m.name == "kuma_io_services" && m.op == "=~") {
      if (m.value.size() < 6 || m.value.rfind(".*,", 0) != 0 ||
          m.value.compare(m.value.size() - 3, 3, ",.*") != 0) {
        return make_error(ErrorKind::Rejected, "unsupported kuma_io_services matcher: " + m.value);
      }
      out.service = regex_unescape(std::string_view(m.value).substr(3, m.value.size() - 6));
    } else if (m.name == "envoy_cluster_name" && m.op == "=~" && m.value == "localhost_.*") {
      // inbound clusters: every series here is one
    } else if (m.name == "envoy_response_code_class" && m.op == "=" && m.value == "5") {
      five_xx = true;
    } else if (m.op == "=" && out.subset.empty()) {
      out.subset = m.value;  // the set's tag label
    } else {
      return make_error(ErrorKind::Rejected, "unsupported matcher " + m.name + m.op + "\"" + m.value + "\"");
    }
  }
  if (out.service.empty() || out.subset.empty()) {
    return make_error(ErrorKind::Rejected, "the query selects no service and set: " + q);
  }
  if (series) {
    if (metric != k_classes && metric != k_requests && metric != k_buckets) {
      return make_error(ErrorKind::Rejected, "unsupported metric: " + q);
    }
    out.what = ParsedQuery::What::Series;
  } else if (metric == k_requests && !by_le && !rate && out.what != ParsedQuery::What::Quantile) {
    out.what = ParsedQuery::What::Requests;
  } else if (metric == k_classes && !by_le && !rate && out.what != ParsedQuery::What::Quantile) {
    out.what = five_xx ? ParsedQuery::What::Errors : ParsedQuery::What::Responses;
  } else if (metric == k_buckets && by_le && !rate && out.what != ParsedQuery::What::Quantile) {
    out.what = ParsedQuery::What::Buckets;
  } else if (metric == k_buckets && by_le && rate && out.what == ParsedQuery::What::Quantile) {
    // histogram_quantile over rates
  } else {
    return make_error(ErrorKind::Rejected, "unsupported metric or aggregation: " + q);
  }
  if (five_xx && metric != k_classes) return make_error(ErrorKind::Rejected, "5xx class on " + metric);
  return out;
}

planner::Result<backends::HttpResponse> FakePrometheus::send(const backends::HttpRequest& request) {
  if (request.method != "POST" || request.url.find("/api/v1/query") == std::string::npos) {
    return answer(404, "404 page not found");
  }
  ++m_queries;
  const std::string promql = form_field(request.body, "query");
  const std::string time_text = form_field(request.body, "time");
  const double time_seconds = std::strtod(time_text.c_str(), nullptr);
  const auto at_ms = static_cast<std::int64_t>(std::llround(time_seconds * 1000.0));
  auto parsed = parse_query(promql);
  if (!parsed.ok()) return bad_data(parsed.error().message);
  const ParsedQuery& q = *parsed;

  std::optional<Increase> inc;
  if (q.mesh == m_mesh) {
    auto w = m_source.window(q.service, q.subset, q.range, at_ms);
    if (!w.ok()) return w.error();
    inc = std::move(*w);
  }
  std::string result;
  if (inc) {
    switch (q.what) {
      case ParsedQuery::What::Requests:
        result = sample_json("", time_text, inc->requests);
        break;
      case ParsedQuery::What::Errors:
        result = sample_json("", time_text, inc->errors);
        break;
      case ParsedQuery::What::Responses:
        result = sample_json("", time_text, inc->requests);
        break;
      case ParsedQuery::What::Buckets:
        for (const auto& [le, n] : inc->buckets) {
          if (!result.empty()) result += ',';
          result += sample_json("\"le\":\"" + number(le) + "\"", time_text, n);
        }
        break;
      case ParsedQuery::What::Series:
        result = sample_json("", time_text, 1);
        break;
      case ParsedQuery::What::Quantile: {
        const auto v = metrics::bucket_quantile(inc->buckets, q.quantile);
        result = sample_json("", time_text, v.value_or(std::nan("")));
        break;
      }
    }
  }
  std::string body =
      "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[" + result + "]}}";
  m_bytes += body.size();
  return answer(200, std::move(body));
}

}  // namespace meshmove::bench
