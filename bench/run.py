#!/usr/bin/env python3
"""Whistler against clang + libbpf: code size, packet cost, compile speed.

For every example in examples/ and its C twin in bench/c/:
  1. instruction counts (symbol size / 8 per program), whistlerc against
     clang -O2 -g -target bpf -mcpu=v3 (and clang-19's default CPU, v1);
  2. equivalence: both objects run on the same crafted frames (every path,
     VLAN/QinQ, IP options, every truncation) with equal verdicts, output
     frames, map contents and ring buffer records required;
  3. ns per packet through BPF_PROG_TEST_RUN (large repeat, medians of
     alternating runs);
  4. end-to-end compile time, whistlerc against clang on the twin (medians of
     alternating runs);
then compile-time scaling with generated N-rule programs (time, peak memory)
and the fixed cost of whistlerc on a trivial program.

Prints Markdown tables and writes results.json and results.md to --out.

    python3 bench/run.py --build build          # everything (root for 2 and 3)
    python3 bench/run.py --counts-only          # the instruction-count test
    python3 bench/run.py --equivalence-only     # the twin equivalence test
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import bpf_elf  # noqa: E402
import cases  # noqa: E402
import frames as fr  # noqa: E402
import gen_rules  # noqa: E402

MULTIARCH = "/usr/include/" + (subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True).stdout.strip()
                               if shutil.which("gcc") else "x86_64-linux-gnu")


def clang_command(clang, source, output, cpu="v3", defines=()):
    cmd = [clang, "-O2", "-g", "-target", "bpf"]
    if cpu:
        cmd.append(f"-mcpu={cpu}")
    return cmd + [f"-D{d}" for d in defines] + [f"-I{MULTIARCH}", f"-I{os.path.join(HERE, 'c')}", "-c", source, "-o", output]


def whistlerc_command(whistlerc, source, output):
    return [whistlerc, source, "-o", output]


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return p


def examples():
    names = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "examples")) if f.endswith(".lisp"))
    missing = [n for n in names if not os.path.exists(os.path.join(HERE, "c", n + ".bpf.c"))]
    unknown = [n for n in names if n not in cases.EXAMPLES]
    if missing or unknown:
        raise SystemExit("bench: every example needs a C twin bench/c/NAME.bpf.c and an entry in bench/cases.py; "
                         f"missing twins: {missing}, missing entries: {unknown}")
    return names


def paths(out, name):
    return dict(lisp=os.path.join(ROOT, "examples", name + ".lisp"), c=os.path.join(HERE, "c", name + ".bpf.c"),
                whistler=os.path.join(out, name + ".whistler.o"), clang=os.path.join(out, name + ".clang.o"),
                clang_v1=os.path.join(out, name + ".clang-v1.o"),
                clang_aligned=os.path.join(out, name + ".clang-aligned.o"))


# The objects compared: the Whistler build, the idiomatic C twin, and the twin
# with eth->h_proto read as one 16-bit load (see bench/c/parsing_helpers.h).
OBJECTS = ("whistler", "clang", "clang_aligned")


# ---------------------------------------------------------------- counts

def compile_all(args, names):
    for name in names:
        p = paths(args.out, name)
        run(whistlerc_command(args.whistlerc, p["lisp"], p["whistler"]))
        run(clang_command(args.clang, p["c"], p["clang"]))
        run(clang_command(args.clang, p["c"], p["clang_v1"], cpu=None))
        run(clang_command(args.clang, p["c"], p["clang_aligned"], defines=["ETH_PROTO_ALIGNED"]))


def counts(args, names):
    rows = []
    for name in names:
        p = paths(args.out, name)
        w, c, c1, ca = (bpf_elf.program_sizes(p[k]) for k in ("whistler", "clang", "clang_v1", "clang_aligned"))
        if set(w) != set(c):
            raise SystemExit(f"{name}: programs differ: whistler {sorted(w)}, clang twin {sorted(c)}")
        for prog in sorted(w, key=lambda k: list(w).index(k)):
            if w[prog][0] != c[prog][0]:
                raise SystemExit(f"{name}: {prog}: sections differ: whistler {w[prog][0]}, clang {c[prog][0]}")
            rows.append(dict(example=name, program=prog, section=w[prog][0], whistler=w[prog][1], clang=c[prog][1],
                             clang_v1=c1[prog][1], clang_aligned=ca[prog][1]))
    return rows


# ------------------------------------------------------------ equivalence

def runner(args, job):
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=args.out, delete=False) as f:
        json.dump(job, f)
        job_path = f.name
    try:
        p = subprocess.run([args.runner, job_path], capture_output=True, text=True)
    finally:
        os.unlink(job_path)
    if p.returncode != 0:
        raise SystemExit(f"bench_runner failed: {p.stderr}")
    return json.loads(p.stdout)


def equivalence_frames():
    base = fr.base_frames()
    out = fr.with_truncations(base, limit=160)
    jumbo = dict(base)["jumbo-udp-1234"]
    out += [(f"jumbo-udp-1234[:{n}]", jumbo[:n]) for n in (1513, 1514, 1515, 1516)]
    # A SYN flood from one source: past the limit, SYNs are dropped.
    out += [(f"syn-flood-{i}", dict(base)["tcp-syn"]) for i in range(20)]
    return out


def masked(value, spans):
    b = bytearray.fromhex(value)
    for off, length in spans:
        b[off:off + length] = b"\0" * length
    return b.hex()


def compare_objects(label, result, spec):
    """Differences between the 'whistler' results of a job and every other object's."""
    problems = []
    others = [k for k in result["maps"] if k != "whistler"]
    for other in others:
        for case in result["cases"]:
            for frame in case["frames"]:
                w, c = frame["whistler"], frame[other]
                if w != c:
                    problems.append(f"{label}: {case['name']}: frame {frame['name']}: whistler {w} != {other} {c}")
        for name in spec.get("dump_maps", []):
            w, c = result["maps"]["whistler"][name], result["maps"][other][name]
            spans = spec.get("mask", {}).get(name)
            if spans:
                norm = lambda m: {k: (masked(v, spans) if isinstance(v, str) else [masked(x, spans) for x in v])
                                  for k, v in m.items()}
                w, c = norm(w), norm(c)
            if w != c:
                problems.append(f"{label}: map {name} differs: whistler {w} != {other} {c}")
        n = spec.get("record_len")
        w, c = result["ringbuf_records"]["whistler"], result["ringbuf_records"][other]
        if n:
            w, c = [r[:2 * n] for r in w], [r[:2 * n] for r in c]
        if w != c:
            problems.append(f"{label}: ring buffer records differ: {len(w)} from whistler, {len(c)} from {other}; "
                            f"first difference: {next(((a, b) for a, b in zip(w, c) if a != b), None)}")
    return problems


def equivalence(args, names, count_rows):
    frames = [{"name": n, "data": f.hex()} for n, f in equivalence_frames()]
    report, problems = [], []
    for name in names:
        spec = cases.EXAMPLES[name]
        p = paths(args.out, name)
        programs = [r["program"] for r in count_rows if r["example"] == name]
        runnable = [prog for prog in programs if prog not in spec.get("not_runnable", {})]
        job_cases = spec.get("cases") or [(prog, prog, []) for prog in runnable]
        job = {"mode": "equivalence", "objects": {k: p[k] for k in OBJECTS},
               "setup": spec.get("setup", []), "dump_maps": spec.get("dump_maps", []),
               "cases": [{"name": label, "program": prog, "setup": setup, "frames": frames}
                         for label, prog, setup in job_cases]}
        result = runner(args, job)
        found = compare_objects(name, result, spec)
        problems += found
        verdicts = {}
        for case in result["cases"]:
            for frame in case["frames"]:
                v = frame["whistler"].get("verdict", frame["whistler"].get("error"))
                verdicts[v] = verdicts.get(v, 0) + 1
        runs = sum(len(c["frames"]) for c in result["cases"])
        report.append(dict(example=name, programs=runnable, runs=runs, verdicts=verdicts, equal=not found,
                           not_runnable=spec.get("not_runnable", {}),
                           records=len(result["ringbuf_records"]["whistler"])))
    return report, problems


# ----------------------------------------------------------------- timing

def timing(args, names, count_rows, control=False):
    """ns per packet per program; with `control`, the A/A noise floor: the
    clang object of drop9999 loaded three times and timed like the others."""
    by_name = dict(fr.base_frames())
    out = {}
    if control:
        names = ["drop9999"]
    for name in names:
        spec = cases.EXAMPLES[name]
        p = paths(args.out, name)
        if control:
            p = {k: p["clang"] for k in OBJECTS}
        programs = [r["program"] for r in count_rows if r["example"] == name]
        job_cases = []
        for prog in programs:
            if prog in spec.get("not_runnable", {}):
                continue
            fl = []
            for entry in spec.get("timing", {}).get(prog, cases.DEFAULT_TIMING):
                frame, opts = (entry, {}) if isinstance(entry, str) else entry
                fl.append(dict(name=frame, data=by_name[frame].hex(), repeat=opts.get("repeat", args.repeat),
                               calls=opts.get("calls", 1)))
            job_cases.append({"program": prog, "frames": fl})
        job = {"mode": "timing", "objects": {k: p[k] for k in OBJECTS},
               "setup": spec.get("setup", []) + spec.get("timing_setup", []), "rounds": args.rounds,
               "cases": job_cases}
        result = runner(args, job)
        for case in result["cases"]:
            frames_out = []
            for frame in case["frames"]:
                # Long runs: CPU time of the syscall / iterations (sub-ns
                # resolution); single runs: the kernel's time for each.
                which = "cpu_ns" if frame["calls"] == 1 else "kernel_ns"
                f = dict(frame=frame["name"], repeat=frame["repeat"], calls=frame["calls"], measure=which)
                for k in OBJECTS:
                    f[f"{k}_ns"] = statistics.median(frame[k][which])
                    f[f"{k}_kernel_ns"] = statistics.median(frame[k]["kernel_ns"])
                    f[f"{k}_runs"] = frame[k][which]
                    f[f"{k}_kernel_runs"] = frame[k]["kernel_ns"]
                # Rounds run the objects back to back: the median of the
                # per-round ratios cancels drifts in the machine's load.
                for k in OBJECTS[1:]:
                    f[f"ratio_{k}"] = statistics.median(ratio(a, b) for a, b in zip(frame["whistler"][which],
                                                                                   frame[k][which]))
                frames_out.append(f)
            out[(name, case["program"])] = dict(frames=frames_out, **{
                f"{k}_ns": statistics.mean(f[f"{k}_ns"] for f in frames_out) for k in OBJECTS}, **{
                f"ratio_{k}": statistics.geometric_mean(f[f"ratio_{k}"] for f in frames_out) for k in OBJECTS[1:]})
    return out


# ---------------------------------------------------------- compile time

def wall(cmd):
    """Wall seconds, peak RSS (KiB) and CPU seconds (user + system) of a command."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd)}")
    wall.cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss


def compile_times(args, names):
    out = {}
    tmp = os.path.join(args.out, "compile-time")
    os.makedirs(tmp, exist_ok=True)
    for name in names:
        p = paths(args.out, name)
        wcmd = whistlerc_command(args.whistlerc, p["lisp"], os.path.join(tmp, name + ".w.o"))
        ccmd = clang_command(args.clang, p["c"], os.path.join(tmp, name + ".c.o"))
        wall(wcmd), wall(ccmd)  # warm the page cache
        ws, cs, wc, cc = [], [], [], []
        for i in range(args.compile_runs):
            for which in ((0, 1) if i % 2 == 0 else (1, 0)):
                t, _ = wall(wcmd if which == 0 else ccmd)
                (ws if which == 0 else cs).append(t * 1000)
                (wc if which == 0 else cc).append(wall.cpu * 1000)
        out[name] = dict(whistler_ms=statistics.median(ws), clang_ms=statistics.median(cs),
                         whistler_cpu_ms=statistics.median(wc), clang_cpu_ms=statistics.median(cc),
                         whistler_runs=ws, clang_runs=cs, whistler_cpu_runs=wc, clang_cpu_runs=cc)
    return out


# ---------------------------------------------------------------- scaling

def scaling(args, sizes, runs):
    tmp = os.path.join(args.out, "scaling")
    os.makedirs(tmp, exist_ok=True)
    out = []
    for n in sizes:
        lisp, c = os.path.join(tmp, f"rules-{n}.lisp"), os.path.join(tmp, f"rules-{n}.bpf.c")
        with open(lisp, "w") as f:
            f.write(gen_rules.lisp(n))
        with open(c, "w") as f:
            f.write(gen_rules.c(n))
        wo, co = os.path.join(tmp, f"rules-{n}.whistler.o"), os.path.join(tmp, f"rules-{n}.clang.o")
        wcmd, ccmd = whistlerc_command(args.whistlerc, lisp, wo), clang_command(args.clang, c, co)
        run(wcmd), run(ccmd)
        ws, cs, wm, cm, wc, cc = [], [], [], [], [], []
        for i in range(runs):
            for which in ((0, 1) if i % 2 == 0 else (1, 0)):
                t, rss = wall(wcmd if which == 0 else ccmd)
                (ws if which == 0 else cs).append(t * 1000)
                (wm if which == 0 else cm).append(rss)
                (wc if which == 0 else cc).append(wall.cpu * 1000)
        out.append(dict(rules=n, lines=sum(1 for _ in open(lisp)), whistler_ms=statistics.median(ws),
                        clang_ms=statistics.median(cs), whistler_cpu_ms=statistics.median(wc),
                        clang_cpu_ms=statistics.median(cc), whistler_peak_kib=max(wm), clang_peak_kib=max(cm),
                        whistler_insns=sum(v[1] for v in bpf_elf.program_sizes(wo).values()),
                        clang_insns=sum(v[1] for v in bpf_elf.program_sizes(co).values()),
                        lisp=lisp, c=c, whistler_o=wo, clang_o=co))
    return out


def scaling_equivalence(args, rows):
    problems = []
    for row in rows:
        frames = [{"name": n, "data": f.hex()} for n, f in fr.with_truncations(gen_rules.sample_frames(row["rules"]),
                                                                                limit=80)]
        result = runner(args, {"mode": "equivalence", "objects": {"whistler": row["whistler_o"],
                                                                  "clang": row["clang_o"]},
                               "cases": [{"program": "rules", "frames": frames}]})
        problems += compare_objects(f"rules-{row['rules']}", result, {})
        drops = sum(1 for f in result["cases"][0]["frames"] if f["whistler"].get("verdict") == 1)
        if drops < 3:
            problems.append(f"rules-{row['rules']}: only {drops} frames dropped; the rules did not match")
    return problems


# ---------------------------------------------------------------- start-up

TRIVIAL = "(defprog pass-all (:type :xdp) XDP_PASS)\n"
TRIVIAL_C = ('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
             'SEC("xdp") int pass_all(struct xdp_md *ctx) { return XDP_PASS; }\n'
             'char LICENSE[] SEC("license") = "GPL";\n')


def startup(args):
    tmp = os.path.join(args.out, "startup")
    os.makedirs(tmp, exist_ok=True)
    lisp, c = os.path.join(tmp, "trivial.lisp"), os.path.join(tmp, "trivial.bpf.c")
    with open(lisp, "w") as f:
        f.write(TRIVIAL)
    with open(c, "w") as f:
        f.write(TRIVIAL_C)
    cmds = {"whistlerc --version": [args.whistlerc, "--version"],
            "whistlerc trivial.lisp": whistlerc_command(args.whistlerc, lisp, os.path.join(tmp, "t.w.o")),
            "clang trivial.bpf.c": clang_command(args.clang, c, os.path.join(tmp, "t.c.o")),
            "/bin/true": ["/bin/true"]}
    times = {k: [] for k in cmds}
    cpu = {k: [] for k in cmds}
    for k, cmd in cmds.items():
        wall(cmd)
    for _ in range(args.compile_runs * 2):
        for k, cmd in cmds.items():
            times[k].append(wall(cmd)[0] * 1000)
            cpu[k].append(wall.cpu * 1000)
    return {k: dict(wall_ms=statistics.median(v), cpu_ms=statistics.median(cpu[k])) for k, v in times.items()}


# ----------------------------------------------------------------- output

def ratio(a, b):
    return a / b if b else float("nan")


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    clang_version = subprocess.run([ARGS.clang, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                kernel=platform.release(), cpu=cpu, cores=os.cpu_count(), clang=clang_version,
                python=platform.python_version())


def fmt_ratio(a, b, digits=2):
    r = ratio(a, b)
    return "n/a" if r != r else f"{r:.{digits}f}"


def markdown(results):
    m = results["machine"]
    lines = [f"Measured {m['date']} on Linux {m['kernel']}, {m['cores']} × {m['cpu']}; {m['clang']}.", ""]
    if "counts" in results:
        timing_ = results.get("timing", {})
        compile_ = results.get("compile", {})
        lines += ["| example | program | insns Whistler | insns clang | ratio | insns clang, aligned h_proto | ratio | "
                  "ns/pkt Whistler | ns/pkt clang | ratio | compile ms Whistler | compile ms clang | speed-up | "
                  "speed-up (CPU time) |",
                  "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        seen = set()
        for r in results["counts"]:
            t = timing_.get(f"{r['example']}/{r['program']}")
            cm = compile_.get(r["example"]) if r["example"] not in seen else None
            seen.add(r["example"])
            mark = "" if r["whistler"] <= r["clang"] else " ✗"
            lines.append("| {} | {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                r["example"], r["program"], r["whistler"], mark, r["clang"], fmt_ratio(r["whistler"], r["clang"]),
                r["clang_aligned"], fmt_ratio(r["whistler"], r["clang_aligned"]),
                f"{t['whistler_ns']:.2f}" if t else "n/a", f"{t['clang_ns']:.2f}" if t else "n/a",
                f"{t['ratio_clang']:.3f}" if t else "n/a",
                f"{cm['whistler_ms']:.1f}" if cm else "", f"{cm['clang_ms']:.1f}" if cm else "",
                f"{fmt_ratio(cm['clang_ms'], cm['whistler_ms'])}×" if cm else "",
                f"{fmt_ratio(cm['clang_cpu_ms'], cm['whistler_cpu_ms'])}×" if cm else ""))
        rows = results["counts"]
        tw, tc, ta = (sum(r[k] for r in rows) for k in ("whistler", "clang", "clang_aligned"))
        lines += ["", f"Instructions, all {len(rows)} programs: Whistler {tw}, clang {tc} (ratio {ratio(tw, tc):.3f}), "
                  f"clang with aligned h_proto {ta} (ratio {ratio(tw, ta):.3f}). Whistler ≤ clang for "
                  f"{sum(r['whistler'] <= r['clang'] for r in rows)} of {len(rows)} programs (✗ marks the others), "
                  f"≤ clang with aligned h_proto for {sum(r['whistler'] <= r['clang_aligned'] for r in rows)}."]
        if timing_:
            rs = [t["ratio_clang"] for t in timing_.values()]
            lines.append(f"ns/packet, Whistler/clang (per program: geometric mean over its frames of the median "
                         f"per-round ratio): geometric mean {statistics.geometric_mean(rs):.3f}, "
                         f"range {min(rs):.3f}–{max(rs):.3f} (≤ 1.05 for {sum(r <= 1.05 for r in rs)} of {len(rs)}).")
            control = results.get("timing_control", {})
            if control:
                cr = [f[f"ratio_{k}"] for t in control.values() for f in t["frames"] for k in OBJECTS[1:]]
                lines.append(f"A/A control (one clang object loaded three times): per-frame ratios "
                             f"{min(cr):.3f}–{max(cr):.3f}.")
        if compile_:
            rs = [ratio(c["clang_ms"], c["whistler_ms"]) for c in compile_.values()]
            rc = [ratio(c["clang_cpu_ms"], c["whistler_cpu_ms"]) for c in compile_.values()]
            lines.append(f"Compile speed-up (clang time / whistlerc time, end to end, medians of alternating runs): "
                         f"wall time geometric mean {statistics.geometric_mean(rs):.2f}×, range "
                         f"{min(rs):.2f}×–{max(rs):.2f}×; CPU time (user + system) geometric mean "
                         f"{statistics.geometric_mean(rc):.2f}×, range {min(rc):.2f}×–{max(rc):.2f}×.")
        lines += ["", "| program | insns clang -mcpu=v1 (clang-19's default) |", "|---|--:|"]
        lines += [f"| {r['example']}/{r['program']} | {r['clang_v1']} |" for r in rows]
    if "timing" in results:
        lines += ["", "Per frame: medians of alternating runs. *ns*: the CPU time of one BPF_PROG_TEST_RUN of "
                  "`repeat` iterations divided by `repeat` (sub-ns resolution; time other tasks ran is not "
                  "counted), or for `calls × 1` the median of the kernel's time for single iterations. "
                  "*kernel ns*: the kernel's own whole-ns figure per iteration, for comparison. Rows marked "
                  "*(clang object ×3)* are an A/A control: all three columns are the same clang object, so their "
                  "spread is the noise floor.", "",
                  "| program | frame | iterations | Whistler ns | clang ns | ratio (median per round) | "
                  "clang, aligned h_proto ns | Whistler kernel ns | clang kernel ns |",
                  "|---|---|---|--:|--:|--:|--:|--:|--:|"]
        for key, t in list(results["timing"].items()) + list(results.get("timing_control", {}).items()):
            for f in t["frames"]:
                how = f"{f['calls']:,} × 1" if f["calls"] > 1 else f"{f['repeat']:,}"
                lines.append(f"| {key} | {f['frame']} | {how} | {f['whistler_ns']:.2f} | {f['clang_ns']:.2f} | "
                             f"{f['ratio_clang']:.3f} | {f['clang_aligned_ns']:.2f} | "
                             f"{f['whistler_kernel_ns']:.0f} | {f['clang_kernel_ns']:.0f} |")
    if "equivalence" in results:
        lines += ["", "Equivalence: each program of the three objects (Whistler, clang, clang with aligned h_proto) "
                  "on the same frames in the same order; verdicts, output frames, maps and ring buffer records "
                  "compared.", "",
                  "| example | test runs per object | verdicts (action: frames) | ring buffer records | equal |",
                  "|---|--:|---|--:|---|"]
        for e in results["equivalence"]:
            v = ", ".join(f"{k}: {n}" for k, n in sorted(e["verdicts"].items(), key=lambda x: str(x[0])))
            eq = "yes" if e["equal"] else "**NO**"
            if e["not_runnable"]:
                eq += " (" + ", ".join(f"{k} not test-runnable" for k in e["not_runnable"]) + ")"
            lines.append(f"| {e['example']} | {e['runs']} | {v} | {e['records']} | {eq} |")
    if "scaling" in results:
        lines += ["", "Compile-time scaling (generated rules; medians of alternating runs, peak RSS):", "",
                  "| rules | lines | whistlerc wall ms | CPU ms | peak MiB | insns | clang wall ms | CPU ms | "
                  "peak MiB | insns | speed-up (CPU) |", "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for s_ in results["scaling"]:
            lines.append(f"| {s_['rules']:,} | {s_['lines']:,} | {s_['whistler_ms']:.0f} | {s_['whistler_cpu_ms']:.0f} | "
                         f"{s_['whistler_peak_kib'] / 1024:.1f} | {s_['whistler_insns']:,} | {s_['clang_ms']:.0f} | "
                         f"{s_['clang_cpu_ms']:.0f} | {s_['clang_peak_kib'] / 1024:.1f} | {s_['clang_insns']:,} | "
                         f"{fmt_ratio(s_['clang_cpu_ms'], s_['whistler_cpu_ms'])}× |")
    if "startup" in results:
        lines += ["", "Fixed cost (medians, process start included):", "", "| command | wall ms | CPU ms |",
                  "|---|--:|--:|"]
        for k, v in results["startup"].items():
            lines.append(f"| `{k}` | {v['wall_ms']:.1f} | {v['cpu_ms']:.1f} |")
    if "elapsed_s" in results:
        lines += ["", f"Driver run time: {results['elapsed_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def print_count_table(rows):
    width = max(len(f"{r['example']}/{r['program']}") for r in rows)
    print(f"{'program':<{width}}  whistler  clang(v3)  clang(v1)  clang(v3, aligned h_proto)")
    for r in rows:
        flag = "" if r["whistler"] <= r["clang"] else "   <-- Whistler emits more than clang"
        print(f"{r['example'] + '/' + r['program']:<{width}}  {r['whistler']:>8}  {r['clang']:>9}  "
              f"{r['clang_v1']:>9}  {r['clang_aligned']:>26}{flag}")


ARGS = None


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="CMake build directory (default: build)")
    ap.add_argument("--whistlerc", help="whistlerc binary (default: BUILD/cli/whistlerc)")
    ap.add_argument("--runner", help="bench_runner binary (default: BUILD/bench/bench_runner)")
    ap.add_argument("--clang", default=shutil.which("clang-19") or "/usr/lib/llvm-19/bin/clang")
    ap.add_argument("--out", help="output directory (default: BUILD/bench/results)")
    ap.add_argument("--only", nargs="*", help="examples to run (default: all)")
    ap.add_argument("--repeat", type=int, default=500000, help="BPF_PROG_TEST_RUN repeat (default 500000)")
    ap.add_argument("--rounds", type=int, default=11, help="timed runs per frame and object (default 11)")
    ap.add_argument("--compile-runs", type=int, default=11, help="compiles per example and compiler (default 11)")
    ap.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 1000, 3000], help="rule counts to generate")
    ap.add_argument("--counts-only", action="store_true", help="instruction counts only; fail if Whistler > clang")
    ap.add_argument("--equivalence-only", action="store_true", help="twin equivalence only; fail on a difference")
    ap.add_argument("--scaling-smoke", action="store_true", help="generated programs compile and agree (10, 100)")
    ap.add_argument("--no-timing", action="store_true", help="skip ns/packet")
    ap.add_argument("--no-scaling", action="store_true", help="skip the generated-rules scaling")
    args = ap.parse_args()
    ARGS = args
    args.whistlerc = args.whistlerc or os.path.join(args.build, "cli", "whistlerc")
    args.runner = args.runner or os.path.join(args.build, "bench", "bench_runner")
    args.out = os.path.abspath(args.out or os.path.join(args.build, "bench", "results"))
    os.makedirs(args.out, exist_ok=True)
    for tool in (args.whistlerc, args.runner, args.clang):
        if not os.access(tool, os.X_OK):
            raise SystemExit(f"bench: {tool} not found; build first: cmake --build BUILD --target whistlerc bench_runner")

    started = time.perf_counter()
    names = examples()
    if args.only:
        names = [n for n in names if n in args.only]

    if args.scaling_smoke:
        problems = scaling_equivalence(args, scaling(args, [10, 100], 1))
        for p in problems:
            print(p)
        print("generated rule programs: " + ("compiled and agreed" if not problems else "FAILED"))
        return 1 if problems else 0

    compile_all(args, names)
    rows = counts(args, names)
    results = {"machine": machine(), "counts": rows}

    if args.counts_only:
        print_count_table(rows)
        worse = [r for r in rows if r["whistler"] > r["clang"]]
        for r in worse:
            print(f"FAIL {r['example']}/{r['program']}: Whistler {r['whistler']} instructions, clang {r['clang']}")
        print(f"{len(rows) - len(worse)} passed, {len(worse)} failed")
        return 1 if worse else 0

    report, problems = equivalence(args, names, rows)
    results["equivalence"] = report
    if args.equivalence_only or problems:
        for e in report:
            print(f"{e['example']}: {e['runs']} runs per object, verdicts {e['verdicts']}, "
                  f"{'equal' if e['equal'] else 'DIFFERENT'}")
        for p in problems[:50]:
            print("DIFF", p[:2000])
        ok = len(report) - sum(not e["equal"] for e in report)
        print(f"{ok} passed, {len(report) - ok} failed")
        if problems:
            print("bench: the twins do not behave alike; counts and timings would be meaningless")
        return 1 if problems else 0

    if not args.no_timing:
        print("timing ns/packet ...", file=sys.stderr)
        t = timing(args, names, rows)
        results["timing"] = {f"{k[0]}/{k[1]}": v for k, v in t.items()}
        t = timing(args, names, rows, control=True)
        results["timing_control"] = {f"{k[0]}/{k[1]} (clang object ×3)": v for k, v in t.items()}
    print("timing compiles ...", file=sys.stderr)
    results["compile"] = compile_times(args, names)
    results["startup"] = startup(args)
    if not args.no_scaling:
        print("scaling ...", file=sys.stderr)
        rows_s = scaling(args, args.sizes, 3)
        problems = scaling_equivalence(args, [r for r in rows_s if r["rules"] <= 1000])
        if problems:
            raise SystemExit("generated programs disagree: " + "\n".join(problems))
        results["scaling"] = rows_s
    results["elapsed_s"] = time.perf_counter() - started
    md = markdown(results)
    print(md)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md)
    print(f"bench: {results['elapsed_s']:.0f} s; results in {args.out}/results.md and results.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
