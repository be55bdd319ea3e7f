// Reading and writing the files users name: source files, includes, REPL
// --load files, object files, -o outputs and depfiles. Every such path goes
// through these functions, so each one fails the same way: with the errno
// text (or a size limit), never an exception, an abort or a hang on a device.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace whistler {

// Larger inputs are refused. A source file of 16 MiB is about 250,000
// firewall rules, far more than a BPF program can hold; the limit keeps
// /dev/zero or a runaway generator from exhausting memory.
inline constexpr std::size_t kMaxSourceBytes = std::size_t{16} << 20;
// For BPF ELF objects (runtime::BpfObject::open_file, Object::load_file).
inline constexpr std::size_t kMaxObjectBytes = std::size_t{256} << 20;

struct FileContents {
  std::string bytes;
  // 0 on success; else the errno of the failing call (EISDIR for a
  // directory, EFBIG for more than the limit).
  int error = 0;
  // What went wrong: strerror(error), or for EFBIG "larger than 16 MiB,
  // the limit for ...". Empty on success.
  std::string reason;
  bool ok() const { return error == 0; }
};

// Reads the whole file at `path`: a regular file, a FIFO or a character
// device (read until end of file). A directory is EISDIR; more than
// `max_bytes` is EFBIG. `what` names the kind of file in the limit message
// ("a source file").
FileContents read_file(const std::string& path, std::size_t max_bytes, const char* what = "a source file");
// The same for an open descriptor (standard input), which is not closed.
FileContents read_fd(int fd, std::size_t max_bytes, const char* what = "a source file");

// Writes `bytes` as the file `path`:
//  - a symbolic link is followed: its target is written and the link stays;
//  - a character or block device, FIFO or socket is opened and written in
//    place (no temporary file, no rename), so `-o /dev/null` stays a device;
//  - a regular file, or a file that does not exist yet, is replaced
//    atomically: a temporary file in the same directory, then rename(2); an
//    existing file's permission bits (and, when allowed, owner) are kept;
//  - a directory is an error (EISDIR).
// On failure returns false with `error` = "cannot write 'PATH': REASON" and
// leaves no temporary file behind.
bool write_file(const std::string& path, std::string_view bytes, std::string& error);
// Writes all of `bytes` to a descriptor (standard output); false with errno
// set on failure.
bool write_all(int fd, std::string_view bytes);

}  // namespace whistler
