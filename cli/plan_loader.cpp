#include "cli/plan_loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace meshmove::cli {
namespace {

// What a file that is not a regular file is, for the message that refuses it.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

planner::Diagnostic read_problem(const std::string& path, std::string message) {
  return planner::Diagnostic{path, 0, 0, "", std::move(message)};
}

}  // namespace

planner::PlanParseResult load_plan(const std::string& path) {
  planner::PlanParseResult result;
  std::string text;
  const std::size_t cap = planner::k_max_plan_bytes + 1;  // one more byte tells "too large"
  if (path == "-") {
    text.resize(cap);
    std::cin.read(text.data(), static_cast<std::streamsize>(cap));
    text.resize(static_cast<std::size_t>(std::cin.gcount()));
  } else {
    // Only regular files (a symlink to one is fine): a FIFO without a writer, a device or a directory
    // would block or never end. Checked before opening, and again on the open descriptor (O_NONBLOCK
    // keeps the open itself from waiting for a FIFO's writer if one is swapped in between).
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      const int err = errno;
      result.diagnostics.push_back(read_problem(path, std::string("cannot read the plan: ") + std::strerror(err)));
      return result;
    }
    if (!S_ISREG(st.st_mode)) {
      result.diagnostics.push_back(read_problem(
          path, std::string("cannot read the plan: it is ") + kind_of(st.st_mode) +
                    ", not a regular file; give a plan file, or - to read the plan from stdin"));
      return result;
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      const int err = errno;
      result.diagnostics.push_back(read_problem(path, std::string("cannot read the plan: ") + std::strerror(err)));
      return result;
    }
    struct stat opened {};
    if (::fstat(fd, &opened) != 0 || !S_ISREG(opened.st_mode)) {
      ::close(fd);
      result.diagnostics.push_back(read_problem(
          path, "cannot read the plan: it is " + std::string(kind_of(opened.st_mode)) +
                    ", not a regular file; give a plan file, or - to read the plan from stdin"));
      return result;
    }
    text.resize(cap);
    std::size_t got = 0;
    while (got < cap) {
      const ssize_t n = ::read(fd, text.data() + got, cap - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        result.diagnostics.push_back(read_problem(path, std::string("cannot read the plan: ") + std::strerror(err)));
        return result;
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    text.resize(got);
  }
  if (text.size() >= cap) {
    result.diagnostics.push_back(read_problem(path, "the file is larger than 1 MiB; plans are limited to 1 MiB"));
    return result;
  }
  return planner::parse_plan(text, path == "-" ? "<stdin>" : path);
}

void apply_overrides(planner::Plan& plan, const GlobalOptions& options) {
  if (!options.prometheus_url.empty()) plan.gates.prometheus.url = options.prometheus_url;
  if (!options.control_plane_url.empty()) plan.control_plane.url = options.control_plane_url;
}

}  // namespace meshmove::cli
