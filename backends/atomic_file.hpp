#pragma once
// The one way meshmove replaces a file (its state, a report, the metrics file): the new content goes to a
// temporary file in the same directory, created afresh (O_CREAT|O_EXCL|O_NOFOLLOW, never through a
// planted link) under an unpredictable name, fsynced, renamed over the target, and the directory fsynced.
// After a crash at any moment the target holds its old or its new content, never a mix.
#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "planner/error.hpp"

namespace meshmove::backends {

struct AtomicWriteOptions {
  mode_t mode = 0600;  // the new file's permissions, set with fchmod (the umask does not apply)
  // The kind of the error returned on failure (Unavailable for the state store: retry later; Config for a
  // report path the user gave).
  planner::ErrorKind error_kind = planner::ErrorKind::Unavailable;
  // What the file is, for messages ("the report", "the state"); "" for just the path.
  std::string what;
  // Test hook: called at "after-temp-write" (content written and fsynced) and "before-rename"; a test
  // uses it to simulate a crash there. Empty in production.
  std::function<void(const char* point)> failpoint;
};

// Replaces `path` with `content` as described above. A symbolic link at `path` is replaced by the file
// (rename(2) does not follow it); the link's target is never touched. On failure the temporary file is
// removed, the target keeps its old content, and the error (of options.error_kind) names the path and
// says why with the errno text: "cannot write the report /ci/r.xml: No space left on device".
planner::Status write_file_atomically(const std::string& path, std::string_view content,
                                      const AtomicWriteOptions& options = {});

// The name of a temporary file for `path` in its directory: ".<file name>.<12 random characters>"
// (letters and digits from getrandom(2)). Exposed for tests.
std::string temporary_name_for(const std::string& path);

}  // namespace meshmove::backends
