#include "metrics/answer_checks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>

namespace meshmove::metrics {
namespace {

using planner::ErrorKind;
using planner::make_error;

// A sample value as Prometheus spells it: "NaN", "+Inf", "-Inf", else up to 6 significant digits.
std::string spell(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// {a="1",b="2"}, for messages (values cut at 40 characters).
std::string labels_text(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=\"" + v.substr(0, 40) + "\"";
  return "{" + out + "}";
}

planner::Error refused(std::string message) { return make_error(ErrorKind::Invalid, std::move(message)); }

// Warnings mean the answer may be missing data (Thanos, Mimir and Cortex say so for partial responses):
// an empty 5xx series could then be missing errors rather than showing none.
std::optional<planner::Error> partial(const PromResult& answer, std::string_view what) {
  if (answer.warnings.empty()) return std::nullopt;
  std::string joined;
  for (const auto& w : answer.warnings) joined += (joined.empty() ? "" : "; ") + w;
  return refused("Prometheus warned that " + std::string(what) + " may be incomplete (" + joined +
                 "); a partial answer is not judged");
}

std::optional<planner::Error> not_vector(const PromResult& answer, std::string_view what) {
  if (answer.result_type == "vector") return std::nullopt;
  return refused(std::string(what) + ": asked for an instant vector, Prometheus answered a " +
                 (answer.result_type.empty() ? std::string("result without a type") : answer.result_type));
}

std::optional<planner::Error> not_finite(double v, std::string_view what) {
  if (std::isfinite(v)) return std::nullopt;
  return refused(std::string(what) + " is " + spell(v) + ", not a number of requests");
}

}  // namespace

planner::Result<std::optional<double>> read_count(const PromResult& answer, std::string_view what) {
  if (auto e = partial(answer, what)) return *e;
  if (auto e = not_vector(answer, what)) return *e;
  if (answer.samples.empty()) return std::optional<double>{};
  if (answer.samples.size() > 1) {
    return refused(std::string(what) + ": " + std::to_string(answer.samples.size()) +
                   " samples where meshmove's sum(...) returns one; this is not the answer to its query");
  }
  // sum(...) without `by` keeps no label (Thanos and Mimir drop their external labels too).
  if (!answer.samples.front().labels.empty()) {
    return refused(std::string(what) + ": a sample labelled " + labels_text(answer.samples.front().labels) +
                   " where meshmove's sum(...) returns one without labels; this is not the answer to its query");
  }
  const double v = answer.samples.front().value;
  if (auto e = not_finite(v, what)) return *e;
  if (v < 0) return refused(std::string(what) + " is " + spell(v) + ": a count of requests is never negative");
  return std::optional<double>{v};
}

planner::Result<Buckets> read_buckets(const PromResult& answer) {
  const std::string_view what = "the latency histogram";
  if (auto e = partial(answer, what)) return *e;
  if (auto e = not_vector(answer, what)) return *e;
  Buckets out;
  out.reserve(answer.samples.size());
  for (const auto& s : answer.samples) {
    const auto it = s.labels.find("le");
    if (it == s.labels.end()) return refused("the latency histogram has a sample without an le label");
    if (s.labels.size() > 1) {
      return refused("the latency histogram has a sample labelled " + labels_text(s.labels) +
                     " where sum by (le) keeps only le; this is not the answer to its query");
    }
    double le = 0;
    if (it->second == "+Inf") {
      le = std::numeric_limits<double>::infinity();
    } else {
      std::size_t used = 0;
      try {
        le = std::stod(it->second, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != it->second.size() || !std::isfinite(le)) {
        return refused("the latency histogram has a bucket with the unreadable bound le=\"" + it->second + "\"");
      }
    }
    const std::string bucket = "the count of the le=\"" + it->second + "\" bucket";
    if (auto e = not_finite(s.value, bucket)) return *e;
    if (s.value < 0) return refused(bucket + " is " + spell(s.value) + ": a count of requests is never negative");
    out.emplace_back(le, s.value);
  }
  if (out.empty()) return out;
  std::sort(out.begin(), out.end());
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].first == out[i - 1].first) {
      return refused("the latency histogram has two buckets with le=\"" + spell(out[i].first) +
                     "\"; sum by (le) returns one each");
    }
  }
  if (!std::isinf(out.back().first)) {
    return refused("the latency histogram has no +Inf bucket, so it does not count every request (largest bound " +
                   spell(out.back().first) + " ms)");
  }
  const double total = out.back().second;
  const double slack = k_bucket_rounding * std::max(1.0, total);
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].second + slack < out[i - 1].second) {
      return refused("the latency histogram is not cumulative: " + spell(out[i - 1].second) + " requests at or below " +
                     spell(out[i - 1].first) + " ms but " + spell(out[i].second) + " at or below " +
                     spell(out[i].first) + (std::isinf(out[i].first) ? "" : " ms"));
    }
  }
  return out;
}

planner::Result<std::optional<double>> read_custom(const PromResult& answer) {
  const std::string_view what = "the custom query";
  if (auto e = partial(answer, what)) return *e;
  if (answer.result_type != "vector" && answer.result_type != "scalar") {
    return refused("the custom query gives a " +
                   (answer.result_type.empty() ? std::string("result without a type") : answer.result_type) +
                   "; a gate needs an instant vector or a scalar");
  }
  if (answer.samples.empty()) return std::optional<double>{};
  if (answer.samples.size() > 1) {
    return refused("the custom query returned " + std::to_string(answer.samples.size()) +
                   " samples; it must return exactly one (aggregate it, e.g. sum(...) or max(...))");
  }
  const double v = answer.samples.front().value;
  if (std::isnan(v)) {
    return refused("the custom query returned NaN (a 0/0 ratio?); make it return no sample when there is no "
                   "traffic, e.g. append `and sum(rate(...)) > 0`");
  }
  if (std::isinf(v)) return refused("the custom query returned " + spell(v) + ", which no bound can judge");
  return std::optional<double>{v};
}

}  // namespace meshmove::metrics
