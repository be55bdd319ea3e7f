#!/usr/bin/env python3
"""Seed corpus and dictionary for the fuzz targets (docs/reliability.md).

    make_seeds.py SOURCE_DIR OUT_DIR

Writes OUT_DIR/corpus/: one file per examples/*.lisp, stdlib/*.lisp and
```lisp / ```lisp-fragment block of README.md and docs/*.md, named after
where it came from; and OUT_DIR/whistler.dict: the hand-written tokens of
tests/fuzz/whistler.dict plus every operator name (the head of a list) found
in those files, so new forms in the standard library or the docs reach the
fuzzers without editing the dictionary. Nothing here is committed; the
curated seeds are tests/fuzz/seeds/.
"""
import pathlib
import re
import sys


def fenced_blocks(text):
    """(line, code) of each ```lisp or ```lisp-fragment block (as the docs test reads them)."""
    blocks, inside, collect, marker, start, lines = [], False, False, "", 0, []
    for number, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^ {0,3}(`{3,}|~{3,})\s*(.*?)\s*$", line)
        if not inside:
            if m:
                inside, marker, start, lines = True, m.group(1), number, []
                collect = re.split(r"[ \t{]", m.group(2))[0] in ("lisp", "lisp-fragment")
            continue
        if m and not m.group(2) and m.group(1)[0] == marker[0] and len(m.group(1)) >= len(marker):
            inside = False
            if collect:
                blocks.append((start, "\n".join(lines) + "\n"))
            continue
        lines.append(line)
    if inside and collect:
        blocks.append((start, "\n".join(lines) + "\n"))
    return blocks


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for old in corpus.iterdir():
        old.unlink()
    seeds = {}
    for pattern in ("examples/*.lisp", "stdlib/*.lisp"):
        for path in sorted(src.glob(pattern)):
            seeds[f"{path.parent.name}-{path.name}"] = path.read_text()
    for doc in [src / "README.md"] + sorted((src / "docs").glob("*.md")):
        for line, code in fenced_blocks(doc.read_text()):
            seeds[f"{doc.stem}-{line}.lisp"] = code
    for name, text in seeds.items():
        (corpus / name).write_text(text)

    # Dictionary: the hand-written tokens, then every list head seen.
    tokens = (src / "tests/fuzz/whistler.dict").read_text().splitlines()
    known = set(tokens)
    heads = set()
    for text in seeds.values():
        heads.update(re.findall(r"\(\s*([A-Za-z%*+/<>=!?&:-][A-Za-z0-9%*+/<>=!?&:.-]*)", text))
    for head in sorted(heads):
        entry = '"' + head.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if entry not in known:
            tokens.append(entry)
    (out / "whistler.dict").write_text("\n".join(tokens) + "\n")
    print(f"{len(seeds)} seeds in {corpus}, {sum(1 for t in tokens if t.startswith(chr(34)))} dictionary tokens")


if __name__ == "__main__":
    main()
