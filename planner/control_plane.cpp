#include "planner/control_plane.hpp"

#include "planner/plan.hpp"

namespace meshmove::planner {

const char* to_string(Ownership o) {
  switch (o) {
    case Ownership::Absent: return "absent";
    case Ownership::Ours: return "meshmove (this migration)";
    case Ownership::OtherMigration: return "another meshmove migration";
    case Ownership::Foreign: return "not meshmove";
  }
  return "?";
}

std::string describe(const CompetingRoute& r) {
  return r.kind + " " + r.name +
         (r.owner.empty() ? " (hand-written: no meshmove.io/migration label)"
                          : " (managed by the migration '" + r.owner + "')");
}

const CompetingRoute* LiveRouting::winner() const {
  for (const auto& r : competing) {
    if (r.wins) return &r;
  }
  return nullptr;
}

std::optional<int> LiveRouting::effective_to_weight() const {
  if (const CompetingRoute* w = winner()) return w->to_weight;
  return to_weight;
}

std::optional<Error> check_write_allowed(const LiveRouting& live, std::optional<int> last_written, bool adopt,
                                         const std::string& migration) {
  if (const CompetingRoute* w = live.winner()) {
    return make_error(
        ErrorKind::Conflict,
        "another route decides the traffic: " + describe(*w) + " targets the same service and Kuma ranks it above " +
            live.kind + " " + live.name + " (" + w->why + "); it sends " +
            (w->to_weight ? format_weight(*w->to_weight) + "% to the to set" : std::string("a split meshmove does not understand")) +
            ", so writing " + live.name +
            " would not change the traffic. Needs a human: delete or rename one of the two routes, or set "
            "controlPlane.policyName: " + w->name + " (with --adopt) to migrate with that route");
  }
  if (adopt) return std::nullopt;
  const std::string what = live.kind + " " + live.name;
  const std::string split =
      live.to_weight ? "its split sends " + format_weight(*live.to_weight) + "% to the to set" : "its split is not one meshmove understands";
  switch (live.ownership) {
    case Ownership::Foreign:
      return make_error(ErrorKind::Conflict,
                        what + " exists and is not managed by meshmove (no meshmove.io/migration label); " + split +
                            ". meshmove will not overwrite it: pass --adopt to take it over, or set "
                            "controlPlane.policyName to a policy of meshmove's own");
    case Ownership::OtherMigration:
      return make_error(ErrorKind::Conflict, what + " is managed by the migration '" + live.owner + "', not '" +
                                                 migration + "'; " + split +
                                                 ". Pass --adopt to take it over for this migration");
    case Ownership::Absent:
      if (last_written) {
        return make_error(ErrorKind::Conflict,
                          "drift: the policy meshmove last wrote (" + format_weight(*last_written) +
                              "% to the to set) is gone from the control plane; someone deleted it. Pass --adopt to "
                              "continue from the control plane as it is now");
      }
      return std::nullopt;
    case Ownership::Ours:
      if (last_written && live.to_weight != last_written) {
        return make_error(ErrorKind::Conflict,
                          "drift: " + what + " now sends " +
                              (live.to_weight ? format_weight(*live.to_weight) + "%" : std::string("an unknown share")) +
                              " to the to set, but meshmove last wrote " + format_weight(*last_written) +
                              "%; someone else changed it. meshmove will not overwrite it silently: pass --adopt to "
                              "take the live value as the truth, or restore " +
                              format_weight(*last_written) + "% by hand");
      }
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace meshmove::planner
