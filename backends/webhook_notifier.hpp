#pragma once
// Webhook notifications (DESIGN.md §7): a JSON POST per event to each of the plan's notify targets that
// wants it, with a Slack-compatible `text` line and structured fields. Sending happens on one background
// thread behind a bounded queue, so the engine never waits for a receiver: a rollback is never delayed.
//
// The payload:
//   {"text": "meshmove: orders-to-kube rolled back: 0% to kube (...)",  // one line, Slack-escaped
//    "id": "orders-to-kube/rollback/2026-11-25T17:00:00Z",  // stable across retries (also Idempotency-Key)
//    "migration", "event" (start step hold paused resumed rollback promoted drift error), "service", "mesh",
//    "from", "to", "weight" (percent to `to`), "previousWeight" (percent, writes only), "step" (index in
//    the plan's steps, -1 pinned to from), "steps" (how many), "phase", "reason", "at" (RFC 3339),
//    "gates": [{"slo", "set", "verdict", "value", "bound", "samples", "reason"}]  // when known}
//
// Delivery is at least once: a failed attempt (connection failure, timeout, 429, 5xx) is retried
// `webhook.retries` times, even when the receiver may have seen it; receivers that must not show
// duplicates can drop repeated ids. Failures are logged through the log callback, never thrown. The
// webhook URL is treated as a secret: logs and messages show only its scheme and host.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "planner/clock.hpp"
#include "planner/plan.hpp"
#include "planner/reporter.hpp"
#include "planner/state.hpp"

namespace meshmove::backends {

// The notification an engine event is, if any: Started -> start, Wrote at a step (not the pin) -> step,
// Held -> hold, Paused -> paused, RolledBack -> rollback, Promoted -> promoted, Drift -> drift,
// Error -> error. Resumed is an operator command and never comes from the engine.
std::optional<planner::NotifyEvent> notify_event_for(const planner::EngineEvent& event);

// Whether the target wants `event` (an empty events list wants every event).
bool wants(const planner::NotifyConfig& target, planner::NotifyEvent event);

// The JSON body for `event` of `plan` (see above). `event.state`, when set, supplies phase, weight, step
// and, for events without gates of their own, the last verdicts.
nlohmann::json build_webhook_payload(const planner::Plan& plan, planner::NotifyEvent kind,
                                     const planner::EngineEvent& event);

struct WebhookNotifierOptions {
  std::size_t queue_capacity = 64;  // notifications waiting to be sent; the oldest is dropped when full
};

// Counters of what happened to the notifications (for tests and the exit summary).
struct WebhookStats {
  std::size_t queued = 0;     // waiting in the queue now
  bool sending = false;       // one is being sent now
  std::size_t delivered = 0;  // answered 2xx
  std::size_t failed = 0;     // given up on after the retries, or not sendable (URL file unreadable)
  std::size_t dropped = 0;    // dropped from a full queue or at destruction
};

class WebhookNotifier : public planner::Notifier {
 public:
  // Enqueues the event for each target that wants it and returns at once.
  void notify(const planner::Plan& plan, const planner::EngineEvent& event) override = 0;
  // Enqueues `kind` (e.g. NotifyEvent::Resumed from the resume command) described by `event`.
  virtual void notify(const planner::Plan& plan, planner::NotifyEvent kind,
                      const planner::EngineEvent& event) = 0;
  // Enqueues `resumed` for a migration the operator resumed (at = the clock's now, reason = `reason`).
  virtual void notify_resumed(const planner::Plan& plan, const planner::MigrationState& state,
                              const std::string& reason) = 0;
  // Waits until every queued notification was sent (or given up on), at most `max_wait` (milliseconds, as
  // the clock counts them). Returns how many were still queued or in flight: 0 when all were handled.
  virtual std::size_t flush(planner::Duration max_wait) = 0;
  [[nodiscard]] virtual WebhookStats stats() const = 0;
  // The destructor drops what is still queued (logged) and waits for the request in flight, which the
  // target's timeout and retries bound.
};

// The notifier over the libcurl transport. `clock` paces retries and measures flush(); `log` receives one
// line per failure or dropped notification (called from the worker thread or the caller of notify(),
// one call at a time; may be empty).
// Each request has the target's `timeout`; `retries` more attempts follow retryable failures.
std::unique_ptr<WebhookNotifier> make_webhook_notifier(planner::Clock& clock,
                                                       std::function<void(const std::string&)> log,
                                                       WebhookNotifierOptions options = {});

}  // namespace meshmove::backends
