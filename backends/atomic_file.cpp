#include "backends/atomic_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace meshmove::backends {
namespace {

constexpr int k_name_attempts = 16;  // each failed attempt means the random name existed already
constexpr std::size_t k_random_chars = 12;

std::string errno_text(int err) { return std::strerror(err); }

// k_random_chars letters and digits: 62^12 (about 2^71) names, so that nobody can plant one in advance.
std::string random_suffix() {
  static constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::array<unsigned char, k_random_chars> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < bytes.size()) {
    std::random_device rd;  // getrandom(2) unavailable (an old kernel or a seccomp filter)
    for (auto& b : bytes) b = static_cast<unsigned char>(rd());
  }
  std::string s;
  for (const unsigned char b : bytes) s += k_alphabet[b % (sizeof k_alphabet - 1)];
  return s;
}

planner::Status write_all(int fd, std::string_view data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return planner::make_error(planner::ErrorKind::Unavailable, errno_text(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  return planner::ok_status();
}

}  // namespace

std::string temporary_name_for(const std::string& path) {
  const std::filesystem::path target(path);
  return (target.parent_path() / ("." + target.filename().string() + "." + random_suffix())).string();
}

planner::Status write_file_atomically(const std::string& path, std::string_view content,
                                      const AtomicWriteOptions& options) {
  const std::filesystem::path target(path);
  const std::string shown = options.what.empty() ? path : options.what + " " + path;
  const auto fail = [&](const std::string& why) -> planner::Status {
    return planner::make_error(options.error_kind, "cannot write " + shown + ": " + why);
  };
  if (!target.has_filename()) return fail("the path names no file");
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");

  std::string temp;
  int fd = -1;
  for (int attempt = 0; attempt < k_name_attempts && fd < 0; ++attempt) {
    temp = temporary_name_for(path);
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) return fail(errno_text(errno));
  }
  if (fd < 0) return fail("no unused temporary name after " + std::to_string(k_name_attempts) + " tries");

  const auto abandon = [&](const std::string& why) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    return fail(why);
  };
  if (auto st = write_all(fd, content); !st.ok()) return abandon(st.error().message);
  if (::fchmod(fd, options.mode) != 0) return abandon(errno_text(errno));
  if (::fsync(fd) != 0) return abandon(errno_text(errno));
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) return abandon(errno_text(errno));
  if (options.failpoint) options.failpoint("after-temp-write");
  if (options.failpoint) options.failpoint("before-rename");
  if (::rename(temp.c_str(), path.c_str()) != 0) return abandon(errno_text(errno));

  // The rename is durable once the directory is.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail("written, but cannot open its directory to fsync it: " + errno_text(errno));
  const int synced = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (synced != 0) return fail("written, but cannot fsync its directory " + dir.string() + ": " + errno_text(err));
  return planner::ok_status();
}

}  // namespace meshmove::backends
