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

  [[nodiscard]] bool exists() const { return ownership != Ownership::Absent; }
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
//   - a policy meshmove does not own (Foreign, OtherMigration) only with `adopt`;
//   - drift: when meshmove wrote before (`last_written`, basis points) and the live weight differs, or the
//     policy is gone, only with `adopt` (which takes the live value as the truth).
// Returns nullopt when the write may go ahead, else an Error (kind Conflict) whose message shows both
// values and says how to proceed.
std::optional<Error> check_write_allowed(const LiveRouting& live, std::optional<int> last_written, bool adopt,
                                         const std::string& migration);

}  // namespace meshmove::planner
