// Reads of the XDP metadata area (data_meta .. data) are bounds-checked like
// packet reads: the compiler inserts `data_meta + N > data` where the program
// wrote none, and BPF_PROG_TEST_RUN with metadata in front of the frame
// (ctx.data = its length) shows both outcomes.
#include <bpf/bpf.h>
#include <doctest/doctest.h>
#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "bpf_object.hpp"
#include "verifier_log.hpp"
#include "test_support.hpp"

using whistler::runtime::BpfObject;
using whistler::runtime::RuntimeError;

namespace {

// The verdict of PROG on a frame preceded by META bytes of metadata.
int run_with_metadata(int prog_fd, const std::vector<uint8_t>& meta, std::vector<uint8_t> frame) {
  std::vector<uint8_t> in = meta;
  in.insert(in.end(), frame.begin(), frame.end());
  xdp_md ctx{};
  ctx.data = static_cast<__u32>(meta.size());
  ctx.data_end = static_cast<__u32>(in.size());
  std::vector<uint8_t> out(in.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out.data(), .data_size_in = static_cast<__u32>(in.size()),
              .data_size_out = static_cast<__u32>(out.size()), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
  int rc = bpf_prog_test_run_opts(prog_fd, &opts);
  REQUIRE_MESSAGE(rc == 0, "BPF_PROG_TEST_RUN failed: " << std::strerror(errno));
  return static_cast<int>(opts.retval);
}

}  // namespace

TEST_CASE("metadata reads get a check against data: the program loads and sees the metadata") {
  std::string diags;
  auto out = whistler::test::compile_text(R"(
(defprog meta-mark (:type :xdp :short-packet XDP_ABORTED)
  ;; no hand-written check: data_meta + 8 > data is inserted
  (let ((meta (ctx data-meta)))
    (if (= (load u32 meta 4) #x01020304) XDP_DROP XDP_PASS))))",
                                          diags);
  REQUIRE_MESSAGE(out.ok, diags);
  CHECK(out.bounds.inserted == 1);
  RuntimeError err;
  auto object = BpfObject::open_memory(out.bytes, {}, err);
  REQUIRE_MESSAGE(object, err.message);
  REQUIRE_MESSAGE(object->load(err), err.message << "\n" << err.detail);
  int fd = object->program_fd("meta_mark");
  REQUIRE(fd >= 0);
  std::vector<uint8_t> frame(60, 0);
  // 8 bytes of metadata, the marker in the second word (host order, as stored).
  uint32_t marker = 0x01020304;
  std::vector<uint8_t> meta(8, 0);
  std::memcpy(meta.data() + 4, &marker, 4);
  CHECK(run_with_metadata(fd, meta, frame) == XDP_DROP);
  std::vector<uint8_t> other(8, 0);
  CHECK(run_with_metadata(fd, other, frame) == XDP_PASS);
  // 4 bytes of metadata: the read at offset 4 is beyond data, the check fails.
  CHECK(run_with_metadata(fd, std::vector<uint8_t>(4, 0), frame) == XDP_ABORTED);
  // No metadata at all.
  CHECK(run_with_metadata(fd, {}, frame) == XDP_ABORTED);
}

// docs/language.md's tag-meta example, in the sections a user would name. On
// a kernel that offers bpf_xdp_adjust_meta to XDP programs it loads whatever
// the section; on one that offers it to none (a kernel build choice, measured
// on the project's 6.18 test kernel for every section, attach type and flag)
// the rejection says so instead of blaming the program.
TEST_CASE("an xdp-adjust-meta program loads in any xdp section, or the rejection names the kernel") {
  for (const char* section : {"xdp", "xdp/tag_meta", "xdp.frags"}) {
    CAPTURE(section);
    std::string diags;
    auto out = whistler::test::compile_text(std::string(R"((defprog tag-meta (:type :xdp :section ")") + section + R"(")
  (when (= (xdp-adjust-meta -4) 0)
    (let ((meta (ctx data-meta))
          (data (ctx data)))
      (when (<= (+ meta 4) data)
        (store u32 meta 0 #xfeedf00d))))
  XDP_PASS))",
                                            diags);
    REQUIRE_MESSAGE(out.ok, diags);
    RuntimeError err;
    auto object = BpfObject::open_memory(out.bytes, {}, err);
    REQUIRE_MESSAGE(object, err.message);
    bool loaded = object->load(err);
    if (whistler::runtime::xdp_helper_offered(54)) {
      CHECK_MESSAGE(loaded, err.message << "\n" << err.detail);
    } else {
      MESSAGE("this kernel offers bpf_xdp_adjust_meta to no XDP program: checking the rejection's explanation");
      REQUIRE_FALSE(loaded);
      auto report = whistler::runtime::analyze_verifier_log(object->verifier_log("tag_meta"));
      CHECK(report.hint.find("offers bpf_xdp_adjust_meta to no XDP program") != std::string::npos);
    }
  }
}
