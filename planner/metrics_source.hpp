#pragma once
// The MetricsSource port: evaluates every gate of a plan once over a window and judges it
// (implemented in metrics/ over Prometheus; tests use a scripted source).
#include <optional>
#include <string>
#include <vector>

#include "planner/clock.hpp"
#include "planner/error.hpp"
#include "planner/plan.hpp"

namespace meshmove::planner {

enum class Verdict { Pass, Fail, Hold, Error };
const char* to_string(Verdict v);  // "PASS", "FAIL", "HOLD", "ERROR"

// One gate's verdict at one evaluation.
struct GateEvaluation {
  std::string slo;
  std::string set;  // "to" or "from"
  Verdict verdict = Verdict::Hold;
  std::optional<double> value;    // the point estimate (fraction, milliseconds, or the custom value)
  double bound = 0;               // what `value` is compared with
  std::optional<double> samples;  // requests counted in the window
  std::string reason;             // one sentence with the numbers
  std::string query;              // the resolved PromQL, for people
};

class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // Evaluates every gate of `plan` over [window_start, now] (window_start is the last weight change
  // plus settle; the window is never earlier) while `to_weight` (basis points) goes to the to set.
  // Failures of the metrics backend are ERROR verdicts, never exceptions. Returns one evaluation per SLO
  // and set.
  virtual std::vector<GateEvaluation> evaluate(const Plan& plan, TimePoint window_start, TimePoint now,
                                               int to_weight) = 0;
  // Checks once, before a run's first traffic change, that the gates can be judged at all: every query is
  // sent once at `now`. Errors: Unavailable when the metrics backend does not answer (try again later);
  // Invalid when a query is refused, a custom query returns several samples, or the from set has no
  // request series (the message names the selector and the closest series found): a plan problem.
  // The default has nothing to check.
  virtual Status preflight(const Plan& plan, TimePoint now) {
    (void)plan;
    (void)now;
    return ok_status();
  }
};

}  // namespace meshmove::planner
