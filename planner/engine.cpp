#include "planner/engine.hpp"

#include <algorithm>
#include <optional>

#include "planner/next_write.hpp"
#include "planner/state_machine.hpp"
#include "planner/time_format.hpp"
#include "planner/windows.hpp"

namespace meshmove::planner {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::Promoted: return "promoted";
    case Outcome::RolledBack: return "rolled-back";
    case Outcome::InProgress: return "in-progress";
    case Outcome::Held: return "held";
    case Outcome::Paused: return "paused";
    case Outcome::Stopped: return "stopped";
    case Outcome::Infrastructure: return "infrastructure-error";
    case Outcome::Locked: return "locked";
    case Outcome::Invalid: return "invalid";
    case Outcome::Interrupted: return "interrupted";
  }
  return "?";
}

const char* to_string(EngineEvent::Kind k) {
  using K = EngineEvent::Kind;
  switch (k) {
    case K::Started: return "started";
    case K::Reconciled: return "reconciled";
    case K::Wrote: return "wrote";
    case K::Evaluated: return "evaluated";
    case K::Waiting: return "waiting";
    case K::Held: return "held";
    case K::Promoted: return "promoted";
    case K::RolledBack: return "rolled-back";
    case K::Paused: return "paused";
    case K::Drift: return "drift";
    case K::Error: return "error";
    case K::Interrupted: return "interrupted";
  }
  return "?";
}

namespace {

// An upper bound on actions in one pass, so that a bug cannot spin forever.
constexpr int k_max_actions_per_pass = 64;
// How often a sleeping engine looks for operator requests.
constexpr Duration k_request_poll = std::chrono::seconds(2);

// Writes that move traffic back to the from set: they retry for the rollback deadline and are owed when
// they cannot be written.
bool undoes_risk(const std::string& write) { return write == "rollback" || write == "rollback-step"; }

nlohmann::json gates_json(const std::vector<GateEvaluation>& gates) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : gates) {
    out.push_back({{"slo", g.slo},
                   {"set", g.set},
                   {"verdict", to_string(g.verdict)},
                   {"value", g.value ? nlohmann::json(*g.value) : nlohmann::json(nullptr)},
                   {"bound", g.bound},
                   {"samples", g.samples ? nlohmann::json(*g.samples) : nlohmann::json(nullptr)},
                   {"reason", g.reason}});
  }
  return out;
}

}  // namespace

class Engine::Runner {
 public:
  Runner(Engine& engine, const Plan& plan, MigrationPorts ports) : m_e(engine), m_plan(plan), m_ports(ports) {}

  [[nodiscard]] bool done() const { return m_result.has_value(); }
  [[nodiscard]] TimePoint wake() const { return m_wake; }
  [[nodiscard]] MigrationResult result() const {
    return m_result.value_or(MigrationResult{m_plan.name, Outcome::InProgress, "in progress"});
  }

  void start() {
    const TimePoint now = m_e.m_clock.now();
    auto lock = m_e.m_store.lock(m_plan.name);
    if (!lock.ok()) {
      // Only a lock held by another runner is "locked"; a state directory that cannot be written is not.
      const ErrorKind kind = lock.error().kind;
      return end(kind == ErrorKind::Locked   ? Outcome::Locked
                 : kind == ErrorKind::Config ? Outcome::Invalid
                                             : Outcome::Infrastructure,
                 lock.error().message);
    }
    m_lock = std::move(*lock);
    auto loaded = m_e.m_store.load(m_plan.name);
    if (!loaded.ok()) {
      return end(loaded.error().kind == ErrorKind::Invalid ? Outcome::Invalid : Outcome::Infrastructure,
                 loaded.error().message);
    }
    const std::string hash = plan_hash(m_plan);
    if (loaded->has_value()) {
      m_state = std::move(**loaded);
      if (m_state.plan_hash != hash && !m_e.m_options.accept_plan_change) {
        return end(Outcome::Invalid,
                   "the saved state of '" + m_plan.name + "' (" + m_e.m_store.location(m_plan.name) +
                       ") was made by a plan with another identity (service, sets, control plane or steps changed); "
                       "pass --accept-plan-change to continue from it, or use another metadata.name to start anew");
      }
      m_state.plan_hash = hash;
      if ((m_state.phase == Phase::Promoted || m_state.phase == Phase::RolledBack) && m_e.m_options.restart) {
        journal({{"type", "restart"}, {"previousPhase", to_string(m_state.phase)}}, now);
        const auto last_written = m_state.last_written;
        m_state = MigrationState{};
        m_state.migration = m_plan.name;
        m_state.plan_hash = hash;
        m_state.last_written = last_written;  // still what the policy says: drift detection keeps working
      }
      repair_journal();
    } else {
      m_state.migration = m_plan.name;
      m_state.plan_hash = hash;
    }
    m_state.plan_file = m_plan.file;
    std::vector<WindowsProblem> problems;
    m_windows = WindowSchedule::create(m_plan.windows, &problems);
    if (!m_windows) return end(Outcome::Invalid, problems.empty() ? "invalid windows" : problems[0].message);
    if (!reconcile(now)) return;
    // An owed rollback goes first: it must not wait for the instance check (the to set may be gone).
    if (!m_state.rollback_owed && !preflight()) return;
    if (auto st = m_e.m_store.save(m_state); !st.ok()) return end(Outcome::Infrastructure, st.error().message);
    emit(EngineEvent::Kind::Started, now,
         std::string(to_string(m_state.phase)) + " at " + format_weight(m_state.weight) + "% to " + m_plan.to +
             (m_state.step >= 0 ? " (step " + std::to_string(m_state.step + 1) + " of " +
                                      std::to_string(m_plan.steps.size()) + ")"
                                : ""));
    m_wake = now;
  }

  // Acts on an operator request posted by another meshmove (pause, rollback, promote), if any.
  void poll_requests() {
    if (!done()) handle_request(m_e.m_clock.now());
  }

  // Does what is due at `now`; sets done() or the next wake().
  void pass() {
    int writes = 0, evaluations = 0;
    for (int i = 0; i < k_max_actions_per_pass && !done(); ++i) {
      const TimePoint now = m_e.m_clock.now();
      if (stopping()) return interrupt(now);
      const WindowView window{m_windows->is_open(now), m_windows->next_open(now)};
      // A rollback still owed is written before anything else: no gate evaluation, no advance.
      const Decision d = m_state.rollback_owed ? owed_decision() : decide(m_plan, m_state, window, now);
      switch (d.action) {
        case Action::Write:
          if (m_e.m_options.once && writes > 0) return end(Outcome::InProgress, "one transition done (--once)");
          if (!gates_readable(d, now)) return;
          if (!perform_write(d, now)) return;
          ++writes;
          if (d.write == "rollback") return end(Outcome::RolledBack, m_state.reason);
          if (m_e.m_options.once) return end(Outcome::InProgress, d.reason);
          break;
        case Action::Evaluate:
          if (m_e.m_options.once && evaluations > 0) return end(Outcome::InProgress, "one evaluation done (--once)");
          if (!evaluate(now)) return;
          ++evaluations;
          break;
        case Action::Wait:
          if (m_e.m_options.once) return end(d.held ? Outcome::Held : Outcome::InProgress, d.reason);
          if (d.wait_for != m_last_wait || d.until != m_wake) {
            EngineEvent e = event(EngineEvent::Kind::Waiting, now, d.reason);
            e.until = d.until;
            report(e);
            m_last_wait = d.wait_for;
          }
          m_wake = std::max(d.until, now + Duration{1});  // never a wake-up in the past: no busy loop
          return;
        case Action::Finish:
          return finish(d, now);
      }
    }
    if (!done()) m_wake = m_e.m_clock.now();
  }

 private:
  bool stopping() const { return m_e.m_options.stop != nullptr && m_e.m_options.stop->load(); }

  void end(Outcome outcome, std::string message) {
    m_result = MigrationResult{m_plan.name, outcome, std::move(message)};
  }

  EngineEvent event(EngineEvent::Kind kind, TimePoint at, std::string message) const {
    EngineEvent e;
    e.kind = kind;
    e.migration = m_plan.name;
    e.at = at;
    e.message = std::move(message);
    e.state = &m_state;
    e.step = m_state.step;
    return e;
  }

  void report(const EngineEvent& e) {
    m_e.m_reporter.report(m_plan, e);
    m_e.m_notifier.notify(m_plan, e);
  }

  void emit(EngineEvent::Kind kind, TimePoint at, std::string message) { report(event(kind, at, std::move(message))); }

  void journal(nlohmann::json event, TimePoint at) {
    if (m_result && m_result->outcome == Outcome::Locked) return;  // the lock is lost: write nothing more
    event["at"] = format_rfc3339(at);
    event["migration"] = m_plan.name;
    if (auto st = m_e.m_store.append(m_plan.name, event); !st.ok()) {
      emit(EngineEvent::Kind::Error, at, "could not append to the journal: " + st.error().message);
      // The store says this runner no longer holds the lock (an etcd lease expired): another runner
      // drives the migration now, so this one stops.
      if (st.error().kind == ErrorKind::Locked) end(Outcome::Locked, st.error().message);
    }
  }

  // A crash between committing a transition and journalling it loses at most that one event: append it.
  void repair_journal() {
    if (m_state.transitions == 0 || !m_state.last_transition.is_object()) return;
    auto events = m_e.m_store.journal(m_plan.name);
    if (!events.ok()) return;
    int last_seq = 0;
    for (const auto& e : *events) {
      if (e.value("type", "") == "transition") last_seq = std::max(last_seq, e.value("seq", 0));
    }
    if (last_seq < m_state.transitions) {
      nlohmann::json e = m_state.last_transition;
      e["recovered"] = true;
      (void)m_e.m_store.append(m_plan.name, e);
    }
  }

  bool fail(Outcome outcome, const std::string& message, TimePoint at) {
    journal({{"type", outcome == Outcome::Stopped ? "drift" : "error"}, {"message", message}}, at);
    if (done()) return false;  // the journal refused: this runner lost its lock, which explains the rest
    emit(outcome == Outcome::Stopped ? EngineEvent::Kind::Drift : EngineEvent::Kind::Error, at, message);
    end(outcome, message);
    return false;
  }

  bool reconcile(TimePoint now) {
    auto live = m_ports.control_plane->read();
    if (!live.ok() && live.error().kind == ErrorKind::Interrupted) {
      end(Outcome::Interrupted, live.error().message);  // nothing changed yet: the state stays as it was
      return false;
    }
    if (!live.ok()) return fail(Outcome::Infrastructure, live.error().message, now);
    for (const auto& w : live->warnings) emit(EngineEvent::Kind::Reconciled, now, "warning: " + w);
    if (m_state.intent) {
      const Intent intent = *m_state.intent;
      const bool landed = live->ownership == Ownership::Ours && live->to_weight == intent.to_weight &&
                          (!live->step || *live->step == intent.step);
      if (landed) {
        Decision d;
        d.action = Action::Write;
        d.write = intent.action;
        d.to_weight = intent.to_weight;
        d.step = intent.step;
        d.reason = "completed after a restart: the write of " + format_weight(intent.to_weight) +
                   "% reached the control plane before the previous run stopped";
        commit(d, intent.at, m_state.weight, true);
        emit(EngineEvent::Kind::Reconciled, now, d.reason);
      } else {
        m_state.intent.reset();
        emit(EngineEvent::Kind::Reconciled, now,
             "the previous run stopped before its write of " + format_weight(intent.to_weight) +
                 "% reached the control plane; deciding again");
      }
    }
    if (auto refusal = check_write_allowed(*live, m_state.last_written, m_e.m_options.adopt, m_plan.name)) {
      return fail(Outcome::Stopped, refusal->message, now);
    }
    const bool lost_state = !m_state.last_written && live->ownership == Ownership::Ours;
    if ((m_e.m_options.adopt || lost_state) && live->exists() && live->to_weight &&
        m_state.last_written != live->to_weight) {
      // Take the live weight as the truth and continue from the step it corresponds to; its bake restarts.
      m_state.weight = *live->to_weight;
      m_state.last_written = *live->to_weight;
      m_state.step = step_for_weight(m_plan, *live->to_weight);
      m_state.step_started_at = now;
      m_state.last_verdicts.clear();
      m_state.last_evaluation_at.reset();
      if (m_state.phase == Phase::Pending) m_state.phase = Phase::Ramping;
      const std::string msg = std::string(lost_state ? "no saved state; " : "adopted: ") + "continuing from the live " +
                              format_weight(*live->to_weight) + "% to " + m_plan.to;
      journal({{"type", "adopt"}, {"toWeight", *live->to_weight / 100.0}, {"step", m_state.step}}, now);
      emit(EngineEvent::Kind::Reconciled, now, msg);
    }
    // --adopt sticks: an adopted policy (not ours, or drifted) is rewritten with the same weights under
    // meshmove's labels, so later runs need no flag.
    if (m_e.m_options.adopt && live->exists() && live->to_weight &&
        (live->ownership != Ownership::Ours || live->step != step_for_weight(m_plan, *live->to_weight))) {
      return relabel(*live, now);
    }
    return true;
  }

  bool relabel(const LiveRouting& live, TimePoint now) {
    const int weight = *live.to_weight;
    const int step = step_for_weight(m_plan, weight);
    auto written = m_ports.control_plane->write({weight, m_plan.name, step});
    if (!written.ok()) {
      return fail(written.error().kind == ErrorKind::Conflict ? Outcome::Stopped : Outcome::Infrastructure,
                  "adopting " + live.kind + " " + live.name + ": " + written.error().message, now);
    }
    m_state.last_written = weight;
    journal({{"type", "relabel"},
             {"policy", live.kind + " " + live.name},
             {"previousOwner", live.owner},
             {"toWeight", weight / 100.0},
             {"step", step}},
            now);
    emit(EngineEvent::Kind::Reconciled, now,
         "adopted " + live.kind + " " + live.name + ": relabelled as meshmove's (meshmove.io/migration=" + m_plan.name +
             ") at the same " + format_weight(weight) + "% to " + m_plan.to + "; later runs need no --adopt");
    return true;
  }

  bool preflight() {
    if (m_e.m_options.skip_preflight) return true;
    if (m_state.phase != Phase::Pending && m_state.phase != Phase::Ramping) return true;
    auto report_ = m_ports.control_plane->preflight();
    const TimePoint now = m_e.m_clock.now();
    if (!report_.ok()) return fail(Outcome::Infrastructure, report_.error().message, now);
    for (const auto& w : report_->warnings) emit(EngineEvent::Kind::Reconciled, now, "warning: " + w);
    if (report_->from_instances == 0 || report_->to_instances == 0) {
      return fail(Outcome::Infrastructure,
                  "pre-flight: the control plane shows " + std::to_string(report_->from_instances) +
                      " instance(s) of " + m_plan.from + " and " + std::to_string(report_->to_instances) + " of " +
                      m_plan.to + " for " + m_plan.service + "; both sets need at least one (--skip-preflight to go on)",
                  now);
    }
    return true;
  }

  // Nothing moves blind: before the first write of this run that adds risk (the pin, a step forward), every
  // gate's queries must be answered. Prometheus down: exit 6, try later; a refused query or a selector
  // that matches nothing: a plan problem (exit 2), so that a cron job does not retry a typo forever.
  // Writes that undo risk never wait for the gates.
  bool gates_readable(const Decision& d, TimePoint now) {
    if (m_gates_checked || m_e.m_options.skip_preflight || m_ports.metrics == nullptr) return true;
    if (d.write != "pin" && d.write != "advance") return true;
    auto st = m_ports.metrics->preflight(m_plan, now);
    if (!st.ok()) {
      return fail(st.error().kind == ErrorKind::Unavailable ? Outcome::Infrastructure : Outcome::Invalid,
                  "pre-flight of the gates: " + st.error().message, now);
    }
    m_gates_checked = true;
    return true;
  }

  Decision owed_decision() const {
    Decision d;
    d.action = Action::Write;
    d.write = m_state.rollback_owed->action;
    d.to_weight = m_state.rollback_owed->to_weight;
    d.step = m_state.rollback_owed->step;
    d.reason = m_state.rollback_owed->reason;
    return d;
  }

  // A write that undoes risk could not be written (`error`): record it as owed, then end the run (--once,
  // or while stopping) or try again after owed_rollback_pace. Returns false.
  bool owe(const Decision& d, const Error& error, TimePoint now) {
    const TimePoint since = m_state.rollback_owed ? m_state.rollback_owed->since : now;
    m_state.rollback_owed = OwedRollback{d.write, d.to_weight, d.step, d.reason, since, error.message};
    const TimePoint at = m_e.m_clock.now();
    journal({{"type", "rollback-owed"},
             {"action", d.write},
             {"toWeight", d.to_weight / 100.0},
             {"step", d.step},
             {"error", error.message}},
            at);
    if (auto st = m_e.m_store.save(m_state); !st.ok()) return fail(Outcome::Infrastructure, st.error().message, at);
    const std::string what = "rollback to " + format_weight(d.to_weight) + "% ";
    if (error.kind == ErrorKind::Interrupted) {
      stop_interrupted(at, "; the " + what + "is recorded as owed: the next run writes it first");
      return false;
    }
    if (m_e.m_options.once || stopping()) {
      return fail(Outcome::Infrastructure,
                  what + "not written: " + error.message +
                      "; it is recorded as owed: the next meshmove apply or rollback writes it first",
                  at);
    }
    emit(EngineEvent::Kind::Error, at,
         what + "still not written: " + error.message + "; retrying in " +
             format_duration(m_e.m_options.owed_rollback_pace));
    m_wake = at + m_e.m_options.owed_rollback_pace;
    return false;
  }

  // A signal stopped a write or read: the state keeps the intent (the next run reconciles).
  void stop_interrupted(TimePoint now, const std::string& detail = "") {
    journal({{"type", "interrupted"}, {"toWeight", m_state.weight / 100.0}}, now);
    (void)m_e.m_store.save(m_state);
    emit(EngineEvent::Kind::Interrupted, now,
         "interrupted during a write; the weight stays at " + format_weight(m_state.weight) + "% to " + m_plan.to +
             detail);
    end(Outcome::Interrupted, "interrupted during a write" + detail);
  }

  bool perform_write(const Decision& d, TimePoint now) {
    const bool undo = undoes_risk(d.write);
    auto live = m_ports.control_plane->read();
    // The read before a write that undoes risk retries, like the write, until the rollback deadline.
    for (const TimePoint until = m_e.m_clock.now() + m_e.m_options.rollback_deadline;
         undo && !live.ok() && live.error().retryable() && !stopping() && m_e.m_clock.now() < until;) {
      m_e.m_clock.sleep(std::min<Duration>(std::chrono::seconds(1),
                                           std::chrono::duration_cast<Duration>(until - m_e.m_clock.now())));
      live = m_ports.control_plane->read();
    }
    if (!live.ok() && (undo && live.error().retryable())) return owe(d, live.error(), now);
    if (!live.ok() && live.error().kind == ErrorKind::Interrupted) {
      if (undo) return owe(d, live.error(), now);
      stop_interrupted(m_e.m_clock.now());
      return false;
    }
    if (!live.ok()) return fail(Outcome::Infrastructure, live.error().message, now);
    // --adopt lets the first write take over a policy meshmove does not own; drift is always checked
    // (reconcile made the adopted weight the last written one).
    const bool take_over = m_e.m_options.adopt && live->ownership != Ownership::Ours;
    if (auto refusal = check_write_allowed(*live, take_over ? std::nullopt : m_state.last_written, take_over,
                                           m_plan.name)) {
      const bool blocked_rollback = d.write == "rollback" && live->winner() != nullptr;
      return fail(Outcome::Stopped, (blocked_rollback ? "not rolled back: " : "") + refusal->message, now);
    }
    m_state.intent = Intent{d.write, d.to_weight, d.step, now};
    if (auto st = m_e.m_store.save(m_state); !st.ok()) return fail(Outcome::Infrastructure, st.error().message, now);
    PolicyWrite w{d.to_weight, m_plan.name, d.step};
    if (undo) w.retry_deadline = m_e.m_options.rollback_deadline;
    auto written = m_ports.control_plane->write(w);
    if (!written.ok() && undo && (written.error().retryable() || written.error().kind == ErrorKind::Interrupted)) {
      return owe(d, written.error(), now);
    }
    if (!written.ok() && written.error().kind == ErrorKind::Interrupted) {
      stop_interrupted(m_e.m_clock.now());
      return false;
    }
    if (!written.ok()) {
      return fail(written.error().kind == ErrorKind::Conflict ? Outcome::Stopped : Outcome::Infrastructure,
                  written.error().message, now);
    }
    commit(d, now, live->to_weight.value_or(m_state.weight), false);
    return !done();
  }

  void commit(const Decision& d, TimePoint at, int from_weight, bool recovered) {
    const TimePoint now = m_e.m_clock.now();
    m_state = record_write(m_plan, std::move(m_state), d, at);
    if (undoes_risk(d.write)) m_state.rollback_owed.reset();
    nlohmann::json e{{"type", "transition"},
                     {"seq", m_state.transitions},
                     {"action", d.write},
                     {"fromWeight", from_weight / 100.0},
                     {"toWeight", d.to_weight / 100.0},
                     {"step", d.step},
                     {"reason", d.reason},
                     {"at", format_rfc3339(at)},
                     {"migration", m_plan.name}};
    if (recovered) e["recovered"] = true;
    m_state.last_transition = e;
    if (auto st = m_e.m_store.save(m_state); !st.ok()) {
      end(st.error().kind == ErrorKind::Locked ? Outcome::Locked : Outcome::Infrastructure, st.error().message);
      return;
    }
    (void)m_e.m_store.append(m_plan.name, e);
    EngineEvent ev = event(d.write == "rollback" ? EngineEvent::Kind::RolledBack : EngineEvent::Kind::Wrote, now,
                           d.reason);
    ev.from_weight = from_weight;
    ev.to_weight = d.to_weight;
    ev.step = d.step;
    report(ev);
  }

  bool evaluate(TimePoint now) {
    // Drift is checked at every evaluation, so a change behind meshmove's back stops the run early.
    auto live = m_ports.control_plane->read();
    if (live.ok()) {
      const bool take_over = m_e.m_options.adopt && live->ownership != Ownership::Ours;
      if (auto refusal = check_write_allowed(*live, take_over ? std::nullopt : m_state.last_written, take_over,
                                             m_plan.name)) {
        return fail(Outcome::Stopped, refusal->message, now);
      }
    } else {
      emit(EngineEvent::Kind::Error, now, "cannot read the control plane (gates are still evaluated): " +
                                              live.error().message);
    }
    const TimePoint window_start = m_state.step_started_at.value_or(now) + m_plan.settle;
    const auto gates = m_ports.metrics->evaluate(m_plan, window_start, now, m_state.weight);
    const bool was_held = m_state.held_since.has_value();
    m_state = record_evaluation(std::move(m_state), gates, now);
    journal({{"type", "evaluation"},
             {"step", m_state.step},
             {"toWeight", m_state.weight / 100.0},
             {"windowStart", format_rfc3339(window_start)},
             {"consecutiveFailures", m_state.consecutive_failures},
             {"gates", gates_json(gates)}},
            now);
    if (auto st = m_e.m_store.save(m_state); !st.ok()) return fail(Outcome::Infrastructure, st.error().message, now);
    EngineEvent e = event(EngineEvent::Kind::Evaluated, now, "gates evaluated at " + format_weight(m_state.weight) + "%");
    e.gates = gates;
    report(e);
    if (!was_held && m_state.held_since) {
      std::string why;
      for (const auto& g : gates) {
        if (g.verdict == Verdict::Hold || g.verdict == Verdict::Error) why += (why.empty() ? "" : "; ") + g.slo + ": " + g.reason;
      }
      emit(EngineEvent::Kind::Held, now, "held at " + format_weight(m_state.weight) + "%: " + why);
    }
    return true;
  }

  void finish(const Decision& d, TimePoint now) {
    const Phase before = m_state.phase;
    m_state = record_finish(std::move(m_state), d, now);
    if (before != d.phase) {
      journal({{"type", to_string(d.phase)}, {"reason", d.reason}, {"toWeight", m_state.weight / 100.0}}, now);
      if (auto st = m_e.m_store.save(m_state); !st.ok()) return (void)fail(Outcome::Infrastructure, st.error().message, now);
      emit(d.phase == Phase::Promoted   ? EngineEvent::Kind::Promoted
           : d.phase == Phase::Paused   ? EngineEvent::Kind::Paused
                                        : EngineEvent::Kind::RolledBack,
           now, d.reason);
    }
    switch (d.phase) {
      case Phase::Promoted: return end(Outcome::Promoted, d.reason);
      case Phase::RolledBack: return end(Outcome::RolledBack, d.reason);
      default: return end(Outcome::Paused, d.reason);
    }
  }

  // An operator's pause, rollback or promote, posted while this runner holds the lock. Returns true when
  // it ended the run.
  bool handle_request(TimePoint now) {
    auto taken = m_e.m_store.take_request(m_plan.name);
    if (!taken.ok()) {
      emit(EngineEvent::Kind::Error, now, taken.error().message);
      if (taken.error().kind == ErrorKind::Locked) end(Outcome::Locked, taken.error().message);
      return done();
    }
    if (!taken->has_value()) return false;
    const nlohmann::json request = **taken;
    const std::string action = request.value("action", "");
    const std::string reason = request.value("reason", "");
    journal({{"type", "operator"}, {"action", action}, {"reason", reason}, {"by", request.value("by", "")}}, now);
    if (action == "pause") {
      Decision d;
      d.action = Action::Finish;
      d.phase = Phase::Paused;
      d.reason = reason.empty() ? "paused by an operator" : reason;
      finish(d, now);
      return true;
    }
    if (action == "rollback" || action == "promote") {
      Decision d;
      d.action = Action::Write;
      d.write = action;
      d.to_weight = action == "rollback" ? 0 : m_plan.final_weight();
      d.step = action == "rollback" ? -1 : static_cast<int>(m_plan.steps.size()) - 1;
      d.reason = reason.empty() ? std::string(action == "rollback" ? "rolled back" : "promoted") + " by an operator"
                                : reason;
      if (!perform_write(d, now)) return true;
      if (action == "promote") {
        emit(EngineEvent::Kind::Promoted, now, d.reason);
        end(Outcome::Promoted, d.reason);
      } else {
        end(Outcome::RolledBack, d.reason);
      }
      return true;
    }
    emit(EngineEvent::Kind::Error, now, "ignored an operator request with the unknown action '" + action + "'");
    return false;
  }

  void interrupt(TimePoint now) {
    if (m_e.m_options.rollback_on_interrupt && (m_state.phase == Phase::Ramping || m_state.phase == Phase::Pending) &&
        m_state.last_written.value_or(0) > 0) {
      Decision d;
      d.action = Action::Write;
      d.write = "rollback";
      d.to_weight = 0;
      d.step = -1;
      d.reason = "interrupted; rolled back as --rollback-on-interrupt asks";
      if (!perform_write(d, now)) return;
    }
    journal({{"type", "interrupted"}, {"toWeight", m_state.weight / 100.0}}, now);
    (void)m_e.m_store.save(m_state);
    emit(EngineEvent::Kind::Interrupted, now,
         "interrupted; the weight stays at " + format_weight(m_state.weight) + "% to " + m_plan.to);
    end(Outcome::Interrupted, "interrupted");
  }

  Engine& m_e;
  const Plan& m_plan;
  MigrationPorts m_ports;
  std::unique_ptr<StateLock> m_lock;
  MigrationState m_state;
  std::optional<WindowSchedule> m_windows;
  std::optional<MigrationResult> m_result;
  TimePoint m_wake{};
  std::string m_last_wait;
  bool m_gates_checked = false;  // the gates' pre-flight passed in this run
};

Engine::Engine(StateStore& store, Clock& clock, Reporter& reporter, Notifier& notifier, EngineOptions options)
    : m_store(store), m_clock(clock), m_reporter(reporter), m_notifier(notifier), m_options(options) {}

Engine::~Engine() = default;

void Engine::add(const Plan& plan, MigrationPorts ports) {
  m_runners.push_back(std::make_unique<Runner>(*this, plan, ports));
}

std::vector<MigrationResult> Engine::run() {
  for (auto& r : m_runners) r->start();
  while (true) {
    const TimePoint now = m_clock.now();
    for (auto& r : m_runners) {
      r->poll_requests();
      if (!r->done() && r->wake() <= now) r->pass();
    }
    const bool all_done = std::all_of(m_runners.begin(), m_runners.end(), [](const auto& r) { return r->done(); });
    if (all_done) break;
    const bool stop = m_options.stop != nullptr && m_options.stop->load();
    if (stop) {
      for (auto& r : m_runners) {
        if (!r->done()) r->pass();  // each handles the interruption
      }
      continue;
    }
    const TimePoint after = m_clock.now();
    // Wake at least every few seconds to notice operator requests (pause, rollback, promote).
    TimePoint next = after + k_request_poll;
    for (auto& r : m_runners) {
      if (!r->done()) next = std::min(next, r->wake());
    }
    if (next > after) m_clock.sleep(std::chrono::duration_cast<Duration>(next - after));
  }
  std::vector<MigrationResult> results;
  for (auto& r : m_runners) results.push_back(r->result());
  return results;
}

}  // namespace meshmove::planner
