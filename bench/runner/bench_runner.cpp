// bench_runner: loads BPF objects with Whistler's runtime and runs their XDP
// programs through BPF_PROG_TEST_RUN, for bench/run.py.
//
//   bench_runner JOB.json        prints the results as JSON on standard output
//
// A job names one or more objects (e.g. the Whistler build of an example and
// its C twin), map contents to set before the runs, and cases: a program and
// the frames to run it on. Every step is applied to every object in turn, so
// the objects see the same frames in the same order.
//
//   {"mode": "equivalence" | "timing",
//    "objects": {"whistler": "a.o", "clang": "b.o"},
//    "setup": [{"map": "blocklist", "key": "0a010203", "value": "01000000"},
//              {"map": "jump_table", "key": "06000000", "program": "handle_tcp"}],
//    "cases": [{"program": "xdp_ip_filter", "setup": [...],
//               "frames": [{"name": "tcp", "data": "hex", "repeat": 1000000, "calls": 1}]}],
//    "dump_maps": ["blocklist"],        // equivalence: map contents afterwards
//    "rounds": 5}                       // timing: runs per frame and object
//
// Equivalence mode runs each frame once per object and reports the verdict and
// the frame after the program; afterwards the listed maps (every key, every
// CPU's value) and the records of every ring buffer. Timing mode runs each
// frame `rounds` times per object with `repeat` iterations in the kernel
// (or `calls` separate runs of one iteration, for programs whose rewrite
// would change the next iteration's input), alternating the objects and
// swapping which goes first every round, and reports the kernel's ns per run.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "bpf_object.hpp"

using nlohmann::json;
using whistler::runtime::BpfObject;
using whistler::runtime::RuntimeError;

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

std::vector<uint8_t> from_hex(const std::string& hex) {
  if (hex.size() % 2) fail("odd-length hex string: " + hex);
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}

struct Loaded {
  std::string label;
  std::unique_ptr<BpfObject> object;
  std::vector<ring_buffer*> ringbufs;
  std::vector<std::string> records;  // ring buffer records seen in equivalence mode
  bool keep_records = false;
};

int record_cb(void* ctx, void* data, size_t size) {
  auto* l = static_cast<Loaded*>(ctx);
  if (l->keep_records) l->records.push_back(to_hex(static_cast<uint8_t*>(data), size));
  return 0;
}

void drain(Loaded& l) {
  for (ring_buffer* rb : l.ringbufs) ring_buffer__consume(rb);
}

int map_fd_of(Loaded& l, const std::string& name) {
  int fd = l.object->map_fd(name);
  if (fd < 0) fail(l.label + ": no map " + name);
  return fd;
}

int prog_fd_of(Loaded& l, const std::string& name) {
  int fd = l.object->program_fd(name);
  if (fd < 0) fail(l.label + ": no program " + name);
  return fd;
}

void apply_setup(Loaded& l, const json& steps) {
  for (const auto& step : steps) {
    int fd = map_fd_of(l, step.at("map"));
    std::vector<uint8_t> key = from_hex(step.at("key"));
    int err;
    if (step.contains("program")) {
      uint32_t prog = static_cast<uint32_t>(prog_fd_of(l, step.at("program")));
      err = bpf_map_update_elem(fd, key.data(), &prog, BPF_ANY);
    } else if (step.contains("delete")) {
      err = bpf_map_delete_elem(fd, key.data());
      if (err && errno == ENOENT) err = 0;
    } else {
      std::vector<uint8_t> value = from_hex(step.at("value"));
      // Per-CPU maps take one value per possible CPU: repeat it.
      bpf_map* m = l.object->map(step.at("map"));
      bpf_map_type type = bpf_map__type(m);
      if (type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
          type == BPF_MAP_TYPE_LRU_PERCPU_HASH) {
        int ncpu = libbpf_num_possible_cpus();
        size_t size = (value.size() + 7) / 8 * 8;
        std::vector<uint8_t> all(size * ncpu);
        for (int c = 0; c < ncpu; ++c) std::copy(value.begin(), value.end(), all.begin() + size * c);
        value = std::move(all);
      }
      err = bpf_map_update_elem(fd, key.data(), value.data(), BPF_ANY);
    }
    if (err) fail(l.label + ": setting up map " + step.at("map").get<std::string>() + ": " + std::strerror(errno));
  }
}

struct Run {
  uint32_t retval = 0;
  uint32_t duration = 0;  // the kernel's mean ns per iteration (an integer)
  double cpu_ns = 0;      // this thread's CPU time for the whole syscall
  std::vector<uint8_t> out;
  int error = 0;
};

Run test_run(int fd, const std::vector<uint8_t>& frame, uint32_t repeat) {
  Run r;
  r.out.resize(frame.size() + 512);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = r.out.data(),
              .data_size_in = static_cast<__u32>(frame.size()), .data_size_out = static_cast<__u32>(r.out.size()),
              .repeat = static_cast<int>(repeat));
  timespec a, b;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  int err = bpf_prog_test_run_opts(fd, &opts);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  r.cpu_ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
  if (err != 0) {
    r.error = errno;
    r.out.clear();
    return r;
  }
  r.retval = opts.retval;
  r.duration = opts.duration;
  r.out.resize(opts.data_size_out);
  return r;
}

json dump_map(Loaded& l, const std::string& name) {
  int fd = map_fd_of(l, name);
  bpf_map* m = l.object->map(name);
  bpf_map_type type = bpf_map__type(m);
  bool percpu = type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
                type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  size_t key_size = bpf_map__key_size(m), value_size = bpf_map__value_size(m);
  size_t stride = percpu ? (value_size + 7) / 8 * 8 : value_size;
  int ncpu = percpu ? libbpf_num_possible_cpus() : 1;
  std::vector<uint8_t> key(key_size), next(key_size), value(stride * ncpu);
  std::map<std::string, json> entries;  // sorted by key
  // LPM tries iterate from no key only; other maps too.
  void* prev = nullptr;
  for (int guard = 0; guard < 1 << 20; ++guard) {
    if (bpf_map_get_next_key(fd, prev, next.data()) != 0) break;
    key = next;
    prev = key.data();
    if (bpf_map_lookup_elem(fd, key.data(), value.data()) != 0) continue;
    json values = json::array();
    for (int c = 0; c < ncpu; ++c) values.push_back(to_hex(value.data() + stride * c, value_size));
    entries[to_hex(key.data(), key_size)] = percpu ? values : values[0];
  }
  json out = json::object();
  for (auto& [k, v] : entries) out[k] = v;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: bench_runner JOB.json\n";
    return 2;
  }
  try {
    json job;
    {
      std::ifstream in(argv[1]);
      if (!in) fail(std::string("cannot read ") + argv[1]);
      in >> job;
    }
    // One CPU for every run: per-CPU maps fill one slot, and timings do not
    // move between cores mid-measurement.
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(job.value("cpu", 0), &set);
    sched_setaffinity(0, sizeof(set), &set);

    const std::string mode = job.at("mode");
    const bool equivalence = mode == "equivalence";
    std::vector<Loaded> objects;
    for (auto& [label, path] : job.at("objects").items()) {
      Loaded l;
      l.label = label;
      RuntimeError error;
      whistler::runtime::OpenOptions options;
      options.name = label.substr(0, 15);
      l.object = BpfObject::open_file(path.get<std::string>(), options, error);
      // libbpf gives the expected attach type BPF_XDP only to the exact
      // section "xdp"; the runtime sets the type of "xdp/NAME" programs but
      // leaves their attach type 0. Kernels since 6.x refuse a prog-array
      // entry whose attach type differs from the array owner's (EINVAL), so
      // tail calls from "xdp" into "xdp/NAME" need the same attach type.
      if (l.object)
        for (bpf_program* prog : l.object->programs())
          if (bpf_program__type(prog) == BPF_PROG_TYPE_XDP && bpf_program__expected_attach_type(prog) == 0)
            bpf_program__set_expected_attach_type(prog, BPF_XDP);
      if (!l.object || !l.object->load(error))
        fail(label + " (" + path.get<std::string>() + "): " + error.message + "\n" + error.detail);
      objects.push_back(std::move(l));
    }
    for (auto& l : objects) {
      l.keep_records = equivalence;
      for (bpf_map* m : l.object->maps())
        if (bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF) {
          ring_buffer* rb = ring_buffer__new(bpf_map__fd(m), record_cb, &l, nullptr);
          if (!rb) fail(l.label + ": ring_buffer__new failed");
          l.ringbufs.push_back(rb);
        }
      apply_setup(l, job.value("setup", json::array()));
    }

    json result;
    result["mode"] = mode;
    json cases = json::array();
    const int rounds = job.value("rounds", 5);
    for (const auto& c : job.at("cases")) {
      const std::string program = c.at("program");
      for (auto& l : objects) apply_setup(l, c.value("setup", json::array()));
      json case_out;
      case_out["program"] = program;
      case_out["name"] = c.value("name", program);
      json frames = json::array();
      for (const auto& f : c.at("frames")) {
        std::vector<uint8_t> frame = from_hex(f.at("data"));
        json frame_out;
        frame_out["name"] = f.value("name", "");
        if (equivalence) {
          for (auto& l : objects) {
            Run r = test_run(prog_fd_of(l, program), frame, 1);
            json o;
            if (r.error) {
              o["error"] = std::strerror(r.error);
            } else {
              o["verdict"] = r.retval;
              o["out"] = to_hex(r.out.data(), r.out.size());
            }
            drain(l);
            frame_out[l.label] = o;
          }
        } else {
          const uint32_t repeat = f.value("repeat", 1000000u);
          const uint32_t calls = f.value("calls", 1u);
          // Per object and round, `calls` runs of `repeat` iterations each:
          //  kernel_ns  the kernel's own ns per iteration (an integer; time
          //             the loop was rescheduled is left out)
          //  cpu_ns     this thread's CPU time for the syscall / repeat: sub-ns
          //             resolution, and time other tasks ran is left out too
          //             (includes the syscall's fixed cost, ~µs, so it is
          //             only meaningful with a large repeat)
          std::map<std::string, json> kernel, cpu;
          for (auto& l : objects) kernel[l.label] = cpu[l.label] = json::array();
          for (int round = 0; round < rounds; ++round) {
            for (size_t k = 0; k < objects.size(); ++k) {
              Loaded& l = objects[(round % 2) ? objects.size() - 1 - k : k];
              int fd = prog_fd_of(l, program);
              std::vector<double> each_kernel, each_cpu;
              for (uint32_t call = 0; call < calls; ++call) {
                Run r = test_run(fd, frame, repeat);
                if (r.error) fail(l.label + ": " + program + ": BPF_PROG_TEST_RUN: " + std::strerror(r.error));
                each_kernel.push_back(r.duration);
                each_cpu.push_back(r.cpu_ns / repeat);
                drain(l);
              }
              // Many single runs: their median.
              std::sort(each_kernel.begin(), each_kernel.end());
              std::sort(each_cpu.begin(), each_cpu.end());
              kernel[l.label].push_back(each_kernel[each_kernel.size() / 2]);
              cpu[l.label].push_back(each_cpu[each_cpu.size() / 2]);
            }
          }
          for (auto& l : objects) frame_out[l.label] = {{"kernel_ns", kernel[l.label]}, {"cpu_ns", cpu[l.label]}};
          frame_out["repeat"] = repeat;
          frame_out["calls"] = calls;
        }
        frames.push_back(frame_out);
      }
      case_out["frames"] = frames;
      cases.push_back(case_out);
    }
    result["cases"] = cases;
    if (equivalence) {
      json maps = json::object(), records = json::object();
      for (auto& l : objects) {
        json m = json::object();
        for (const auto& name : job.value("dump_maps", json::array())) m[name.get<std::string>()] = dump_map(l, name);
        maps[l.label] = m;
        drain(l);
        records[l.label] = l.records;
      }
      result["maps"] = maps;
      result["ringbuf_records"] = records;
    }
    for (auto& l : objects)
      for (ring_buffer* rb : l.ringbufs) ring_buffer__free(rb);
    std::cout << result.dump() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_runner: " << e.what() << "\n";
    return 1;
  }
}
