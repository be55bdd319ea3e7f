#!/usr/bin/env python3
"""Prototype of an emitter change, on textual LLVM IR: move every block that
ends in `ret` (other than the entry block) to the end of its function, as
clang's single return block is. Used by prototype_counts.sh.

    sink_returns.py IN.ll OUT.ll [--align8]

--align8 also raises every alloca's alignment to 8 (lets the backend merge
constant stores into 64-bit ones)."""
import re
import sys


def sink(text, align8=False):
    lines = text.split("\n")
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("define"):
            out.append(line)
            i += 1
            continue
        body = [line]
        i += 1
        while not lines[i].startswith("}"):
            body.append(lines[i])
            i += 1
        blocks, cur = [], None
        for b in body[1:]:
            if re.match(r"^[\w.$-]+:", b):
                cur = [b]
                blocks.append(cur)
            elif cur is None:
                if not b.strip():
                    continue
                cur = [None, b]
                blocks.append(cur)
            else:
                cur.append(b)
        keep, rets = [], []
        for k, bl in enumerate(blocks):
            insts = [x for x in bl if x and x.strip() and not x.strip().startswith((";", "#dbg"))]
            (rets if k > 0 and insts[-1].strip().startswith("ret") else keep).append(bl)
        out.append(body[0])
        for bl in keep + rets:
            out += [x for x in bl if x is not None] + [""]
        out.append(lines[i])
        i += 1
    text = "\n".join(out)
    if align8:
        text = re.sub(r"(alloca [^,\n]*), align [0-9]+", r"\1, align 8", text)
    return text


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        result = sink(f.read(), "--align8" in sys.argv)
    with open(sys.argv[2], "w") as f:
        f.write(result)
