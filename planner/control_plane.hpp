#pragma once
// The ControlPlane port: how meshmove reads and writes the traffic split of one service
// (DESIGN.md §4). Implemented in backends/ (Kuma); tests use recording fakes.
#include <optional>
#include <string>
#include <vector>

#include "planner/duration.hpp"
#include "planner/error.hpp"

namespace meshmove::planner {

// Who manages the policy meshmove would write.
enum class Ownership {
  Absent,          // no policy of that name
  Ours,            // labelled meshmove.io/migration = this migration
  OtherMigration,  // labelled by another meshmove migration
  Foreign,         // exists without meshmove's label
};
const char* to_string(Ownership o);

// Another route in the mesh that targets the same service: a policy of another name or kind, written by
// hand or by another meshmove migration (another controlPlane.policyName).
struct CompetingRoute {
  std::string kind;              // "MeshHTTPRoute", "MeshTCPRoute" or "TrafficRoute"
  std::string name;              // the policy name
  std::string owner;             // its meshmove.io/migration label; empty: not written by meshmove
  std::optional<int> to_weight;  // basis points to the `to` set; nullopt: not a split of the two sets
  bool wins = false;             // Kuma ranks it above meshmove's policy (as it is, or as meshmove would
                                 // write it), so it, not meshmove's policy, decides the traffic
  std::string why;               // why it wins or loses, e.g. "the name mm-aaa sorts before mm-zzz"
};

// "MeshHTTPRoute mm-aaa (managed by the migration 'pa')" or "... (hand-written: no meshmove.io/migration label)".
std::string describe(const CompetingRoute& r);

// What the control plane routes for the service now.
struct LiveRouting {
  Ownership ownership = Ownership::Absent;
  std::string kind;                // e.g. "MeshHTTPRoute"
  std::string name;                // the policy name
  std::string owner;               // the meshmove.io/migration label, when present
  std::optional<int> step;         // the step index from the meshmove.io/step label (-1: pinned to from)
  std::optional<int> to_weight;    // basis points to the `to` set; nullopt: no policy, or not a split of
                                   // the two sets that meshmove understands
  std::string document;            // the live policy as pretty JSON without server-computed fields
  std::vector<std::string> warnings;
  // Every other route that targets the service in the mesh, in Kuma's priority order (highest first).
  std::vector<CompetingRoute> competing;

  [[nodiscard]] bool exists() const { return ownership != Ownership::Absent; }
  // The competing route that decides the traffic instead of meshmove's policy, or nullptr.
  [[nodiscard]] const CompetingRoute* winner() const;
  // What Kuma actually routes to the `to` set (basis points): the winning competing route's split, else
  // meshmove's own; nullopt when the deciding route is no split meshmove understands, or there is none
  // (Kuma then splits by instance count).
  [[nodiscard]] std::optional<int> effective_to_weight() const;
};

// One write: the weight of the `to` set and meshmove's labels.
struct PolicyWrite {
  int to_weight = 0;      // basis points, 0..10000; the `from` set gets the rest
  std::string migration;  // label meshmove.io/migration
  int step = -1;          // the step index, -1 when pinned to `from` (label meshmove.io/step: step + 1)
  // Set for a write that undoes risk (rollback, rollback step): retry retryable failures (5xx, 429,
  // timeouts, refused connections) for this long (milliseconds) before giving up with Unavailable.
  // nullopt: the transport's ordinary retries.
  std::optional<Duration> retry_deadline = std::nullopt;
};

struct PreflightReport {
  int from_instances = 0;  // dataplanes of the service carrying the from tag (or service, for mesh-service)
  int to_instances = 0;
  std::string version;     // the control plane's version, when known
  std::vector<std::string> warnings;
};

class ControlPlane {
 public:
  virtual ~ControlPlane() = default;
  // The live routing of the service. Errors: Unavailable (after retries), NotFound (the mesh does not
  // exist), Rejected/Config (credentials, mode).
  virtual Result<LiveRouting> read() = 0;
  // Writes the split, then reads it back and compares; returns the routing read back. Error Conflict
  // when the read-back differs from what was written. Never writes a split whose weights are all zero.
  virtual Result<LiveRouting> write(const PolicyWrite& w) = 0;
  // Counts the instances of each set that the control plane knows.
  virtual Result<PreflightReport> preflight() = 0;
  // The exact document write(w) would send (pretty JSON).
  [[nodiscard]] virtual std::string render(const PolicyWrite& w) const = 0;
  // "Kuma MeshHTTPRoute meshmove-x in mesh default at http://127.0.0.1:5681"
  [[nodiscard]] virtual std::string describe() const = 0;
};

// Whether meshmove may write over `live` (pure; DESIGN.md §4 ownership and drift):
//   - never while another route wins over meshmove's policy (live.winner()), even with `adopt`: the write
//     would not change the traffic;
//   - a policy meshmove does not own (Foreign, OtherMigration) only with `adopt`;
//   - drift: when meshmove wrote before (`last_written`, basis points) and the live weight differs, or the
//     policy is gone, only with `adopt` (which takes the live value as the truth).
// Returns nullopt when the write may go ahead, else an Error (kind Conflict) whose message shows both
// values and says how to proceed.
std::optional<Error> check_write_allowed(const LiveRouting& live, std::optional<int> last_written, bool adopt,
                                         const std::string& migration);

}  // namespace meshmove::planner
