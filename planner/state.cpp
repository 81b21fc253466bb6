#include "planner/state.hpp"

#include <cstdint>
#include <cstdio>

#include "planner/time_format.hpp"

namespace meshmove::planner {
namespace {

using nlohmann::json;

json opt_time(const std::optional<TimePoint>& t) { return t ? json(format_rfc3339(*t)) : json(nullptr); }

std::optional<TimePoint> read_time(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return std::nullopt;
  return parse_rfc3339(j[key].get<std::string>());
}

json opt_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

const char* to_string(Phase p) {
  switch (p) {
    case Phase::Pending: return "pending";
    case Phase::Ramping: return "ramping";
    case Phase::Paused: return "paused";
    case Phase::Promoted: return "promoted";
    case Phase::RolledBack: return "rolled-back";
  }
  return "?";
}

std::optional<Phase> phase_from_string(const std::string& s) {
  for (Phase p : {Phase::Pending, Phase::Ramping, Phase::Paused, Phase::Promoted, Phase::RolledBack}) {
    if (s == to_string(p)) return p;
  }
  return std::nullopt;
}

json to_json(const MigrationState& s) {
  json j{{"schemaVersion", s.schema_version},
         {"migration", s.migration},
         {"planHash", s.plan_hash},
         {"planFile", s.plan_file},
         {"phase", to_string(s.phase)},
         {"step", s.step},
         {"weight", s.weight},
         {"lastWritten", s.last_written ? json(*s.last_written) : json(nullptr)},
         {"startedAt", opt_time(s.started_at)},
         {"stepStartedAt", opt_time(s.step_started_at)},
         {"heldSince", opt_time(s.held_since)},
         {"lastEvaluationAt", opt_time(s.last_evaluation_at)},
         {"updatedAt", opt_time(s.updated_at)},
         {"consecutiveFailures", s.consecutive_failures},
         {"transitions", s.transitions},
         {"rollbackStep", s.rollback_step ? json(*s.rollback_step) : json(nullptr)},
         {"reason", s.reason},
         {"lastTransition", s.last_transition}};
  j["intent"] = s.intent ? json{{"action", s.intent->action},
                                {"toWeight", s.intent->to_weight},
                                {"step", s.intent->step},
                                {"at", format_rfc3339(s.intent->at)}}
                         : json(nullptr);
  if (s.rollback_owed) {  // only when owed, so that the documents of other states stay as they were
    j["rollbackOwed"] = json{{"action", s.rollback_owed->action},
                             {"toWeight", s.rollback_owed->to_weight},
                             {"step", s.rollback_owed->step},
                             {"reason", s.rollback_owed->reason},
                             {"since", format_rfc3339(s.rollback_owed->since)},
                             {"lastError", s.rollback_owed->last_error}};
  }
  j["lastVerdicts"] = json::array();
  for (const auto& g : s.last_verdicts) {
    j["lastVerdicts"].push_back(json{{"slo", g.slo},
                                     {"set", g.set},
                                     {"verdict", g.verdict},
                                     {"value", opt_number(g.value)},
                                     {"bound", g.bound},
                                     {"samples", opt_number(g.samples)},
                                     {"reason", g.reason},
                                     {"at", format_rfc3339(g.at)}});
  }
  return j;
}

Result<MigrationState> state_from_json(const json& j) {
  try {
    if (!j.is_object()) return make_error(ErrorKind::Invalid, "the state is not a JSON object");
    MigrationState s;
    s.schema_version = j.at("schemaVersion").get<int>();
    if (s.schema_version > k_state_schema_version) {
      return make_error(ErrorKind::Invalid, "the state was written by a newer meshmove (schema version " +
                                                std::to_string(s.schema_version) + ", this one reads " +
                                                std::to_string(k_state_schema_version) + ")");
    }
    s.migration = j.at("migration").get<std::string>();
    s.plan_hash = j.value("planHash", "");
    s.plan_file = j.value("planFile", "");
    const auto phase = phase_from_string(j.at("phase").get<std::string>());
    if (!phase) return make_error(ErrorKind::Invalid, "unknown phase '" + j.at("phase").get<std::string>() + "'");
    s.phase = *phase;
    s.step = j.value("step", -1);
    s.weight = j.value("weight", 0);
    if (j.contains("lastWritten") && j["lastWritten"].is_number_integer()) s.last_written = j["lastWritten"].get<int>();
    s.started_at = read_time(j, "startedAt");
    s.step_started_at = read_time(j, "stepStartedAt");
    s.held_since = read_time(j, "heldSince");
    s.last_evaluation_at = read_time(j, "lastEvaluationAt");
    s.updated_at = read_time(j, "updatedAt");
    s.consecutive_failures = j.value("consecutiveFailures", 0);
    s.transitions = j.value("transitions", 0);
    if (j.contains("rollbackStep") && j["rollbackStep"].is_number_integer()) s.rollback_step = j["rollbackStep"].get<int>();
    s.reason = j.value("reason", "");
    if (j.contains("lastTransition")) s.last_transition = j["lastTransition"];
    if (j.contains("intent") && j["intent"].is_object()) {
      const auto& i = j["intent"];
      Intent intent;
      intent.action = i.at("action").get<std::string>();
      intent.to_weight = i.at("toWeight").get<int>();
      intent.step = i.at("step").get<int>();
      intent.at = read_time(i, "at").value_or(TimePoint{});
      s.intent = intent;
    }
    if (j.contains("rollbackOwed") && j["rollbackOwed"].is_object()) {
      const auto& o = j["rollbackOwed"];
      OwedRollback owed;
      owed.action = o.value("action", "rollback");
      owed.to_weight = o.value("toWeight", 0);
      owed.step = o.value("step", -1);
      owed.reason = o.value("reason", "");
      owed.since = read_time(o, "since").value_or(TimePoint{});
      owed.last_error = o.value("lastError", "");
      if (owed.action != "rollback" && owed.action != "rollback-step") {
        return make_error(ErrorKind::Invalid, "rollbackOwed.action is '" + owed.action +
                                                  "'; expected rollback or rollback-step");
      }
      s.rollback_owed = owed;
    }
    for (const auto& g : j.value("lastVerdicts", json::array())) {
      GateRecord r;
      r.slo = g.at("slo").get<std::string>();
      r.set = g.value("set", "to");
      r.verdict = g.at("verdict").get<std::string>();
      if (g.contains("value") && g["value"].is_number()) r.value = g["value"].get<double>();
      r.bound = g.value("bound", 0.0);
      if (g.contains("samples") && g["samples"].is_number()) r.samples = g["samples"].get<double>();
      r.reason = g.value("reason", "");
      r.at = read_time(g, "at").value_or(TimePoint{});
      s.last_verdicts.push_back(std::move(r));
    }
    return s;
  } catch (const json::exception& e) {
    return make_error(ErrorKind::Invalid, std::string("the state is malformed: ") + e.what());
  }
}

std::string plan_hash(const Plan& plan) {
  const json identity{{"service", plan.service},
                      {"mesh", plan.mesh},
                      {"tagKey", plan.tag_key},
                      {"from", plan.from},
                      {"to", plan.to},
                      {"controlPlane", {{"type", to_string(plan.control_plane.type)},
                                        {"url", plan.control_plane.url},
                                        {"route", to_string(plan.control_plane.route)},
                                        {"policyName", policy_name(plan)}}},
                      {"steps", plan.steps}};
  // FNV-1a, 64 bit: a change detector, not a security measure.
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : identity.dump()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace meshmove::planner
