#include "file_io.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace whistler {

namespace {

FileContents failure(int error) {
  FileContents r;
  r.error = error;
  r.reason = std::strerror(error);
  return r;
}

FileContents too_large(std::size_t max_bytes, const char* what, long long size) {
  FileContents r;
  r.error = EFBIG;
  r.reason = size > 0 ? fmt::format("the file is larger than {} MiB, the limit for {} (it has {} bytes)", max_bytes >> 20,
                                    what, size)
                      : fmt::format("the input is larger than {} MiB, the limit for {}", max_bytes >> 20, what);
  return r;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting close(2)'s error (NFS and full disks report late).
  bool close() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

std::string parent_directory(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string cannot_write(const std::string& path, const std::string& reason) {
  return fmt::format("cannot write '{}': {}", path, reason);
}

// Follows symbolic links from `path` to the file they lead to (which may not
// exist yet: a dangling link creates its target, as open(2) would).
bool resolve_links(const std::string& path, std::string& target, int& error) {
  target = path;
  for (int hops = 0;; ++hops) {
    struct stat st;
    if (lstat(target.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return true;
    if (hops == 40) {
      error = ELOOP;
      return false;
    }
    std::string link(static_cast<size_t>(st.st_size > 0 ? st.st_size : PATH_MAX), '\0');
    ssize_t n = readlink(target.c_str(), link.data(), link.size());
    if (n < 0) {
      error = errno;
      return false;
    }
    link.resize(static_cast<size_t>(n));
    target = !link.empty() && link[0] == '/' ? link : parent_directory(target) + "/" + link;
  }
}

}  // namespace

FileContents read_fd(int fd, std::size_t max_bytes, const char* what) {
  struct stat st;
  if (fstat(fd, &st) != 0) return failure(errno);
  // read(2) on a directory fails with EISDIR on Linux, but not everywhere.
  if (S_ISDIR(st.st_mode)) return failure(EISDIR);
  if (S_ISREG(st.st_mode) && static_cast<unsigned long long>(st.st_size) > max_bytes)
    return too_large(max_bytes, what, static_cast<long long>(st.st_size));
  FileContents r;
  // Regular files are read to their end too: /proc files report size 0.
  size_t chunk = 64 * 1024;
  if (S_ISREG(st.st_mode) && st.st_size > 0) r.bytes.reserve(static_cast<size_t>(st.st_size) + 1);
  for (;;) {
    size_t have = r.bytes.size();
    // One byte past the limit tells a file of exactly max_bytes from a larger one.
    size_t want = std::min(chunk, max_bytes + 1 - have);
    r.bytes.resize(have + want);
    ssize_t n = ::read(fd, r.bytes.data() + have, want);
    if (n < 0) {
      if (errno == EINTR) {
        r.bytes.resize(have);
        continue;
      }
      return failure(errno);
    }
    r.bytes.resize(have + static_cast<size_t>(n));
    if (n == 0) break;
    if (r.bytes.size() > max_bytes) return too_large(max_bytes, what, S_ISREG(st.st_mode) ? static_cast<long long>(r.bytes.size()) : 0);
  }
  return r;
}

FileContents read_file(const std::string& path, std::size_t max_bytes, const char* what) {
  if (path.empty()) return failure(ENOENT);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return failure(errno);
  return read_fd(fd.get(), max_bytes, what);
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

namespace {

// Opens the file itself (following every link, /proc's too) and writes it.
bool write_in_place(const std::string& path, std::string_view bytes, int flags, std::string& error) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY | flags));
  if (fd.get() < 0 || !write_all(fd.get(), bytes) || !fd.close()) {
    error = cannot_write(path, std::strerror(errno));
    return false;
  }
  return true;
}

// A temporary file beside `target`, then an atomic rename over it, so
// readers never see a partial file and a failed write leaves the old one
// intact. `old` is the file replaced (nullptr when there is none): its mode
// and owner are kept; a new file gets 0666 minus the umask, as with open(2).
bool replace_atomically(const std::string& path, const std::string& target, const struct stat* old, std::string_view bytes,
                        std::string& error) {
  std::string tmp;
  int tmp_fd = -1;
  for (int attempt = 0; tmp_fd < 0; ++attempt) {
    tmp = fmt::format("{}.tmp{}{}", target, getpid(), attempt ? fmt::format(".{}", attempt) : std::string());
    tmp_fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
    if (tmp_fd < 0 && (errno != EEXIST || attempt == 100)) {
      error = cannot_write(path, std::strerror(errno));
      return false;
    }
  }
  Fd fd(tmp_fd);
  auto fail = [&](int e) {
    ::unlink(tmp.c_str());
    error = cannot_write(path, std::strerror(e));
    return false;
  };
  if (old) {
    // The owner first, as fchown clears set-user-ID bits. Failing to keep
    // the owner is not an error: only root can give files away.
    if (old->st_uid != geteuid() || old->st_gid != getegid()) (void)::fchown(fd.get(), old->st_uid, old->st_gid);
    if (::fchmod(fd.get(), old->st_mode & 07777) != 0) return fail(errno);
  }
  if (!write_all(fd.get(), bytes)) return fail(errno);
  if (!fd.close()) return fail(errno);
  if (::rename(tmp.c_str(), target.c_str()) != 0) return fail(errno);
  return true;
}

}  // namespace

bool write_file(const std::string& path, std::string_view bytes, std::string& error) {
  if (path.empty()) {
    error = cannot_write(path, std::strerror(ENOENT));
    return false;
  }
  std::string target;
  int err = 0;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      error = cannot_write(path, std::strerror(errno));
      return false;
    }
    // A new file, or the missing target of a dangling link.
    if (!resolve_links(path, target, err)) {
      error = cannot_write(path, std::strerror(err));
      return false;
    }
    return replace_atomically(path, target, nullptr, bytes, error);
  }
  if (S_ISDIR(st.st_mode)) {
    error = cannot_write(path, std::strerror(EISDIR));
    return false;
  }
  // Devices and FIFOs in place (sockets: open(2) refuses them with ENXIO).
  if (!S_ISREG(st.st_mode)) return write_in_place(path, bytes, 0, error);
  // A regular file, perhaps through links: replace the file the links lead
  // to. When following them by name does not reach that file (/dev/stdout
  // and other /proc links, a deleted file), write it in place instead.
  struct stat at;
  if (resolve_links(path, target, err) && ::lstat(target.c_str(), &at) == 0 && S_ISREG(at.st_mode) &&
      at.st_dev == st.st_dev && at.st_ino == st.st_ino)
    return replace_atomically(path, target, &st, bytes, error);
  return write_in_place(path, bytes, O_TRUNC, error);
}

}  // namespace whistler
