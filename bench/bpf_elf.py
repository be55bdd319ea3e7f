"""Instruction counts of BPF ELF objects: for every function symbol in an
executable section, its size / 8 (a 64-bit immediate load counts 2)."""

import struct


def program_sizes(path):
    """{function name: (section name, instruction count)} of a BPF ELF object."""
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError(f"{path}: not a little-endian ELF64 object")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    sections = []
    for i in range(shnum):
        name, type_, flags, _addr, offset, size, link, _info, _align, entsize = struct.unpack_from(
            "<IIQQQQIIQQ", elf, shoff + i * shentsize)
        sections.append(dict(name=name, type=type_, flags=flags, offset=offset, size=size, link=link,
                             entsize=entsize))

    def string(table, index):
        start = sections[table]["offset"] + index
        return elf[start:elf.index(b"\0", start)].decode()

    for s in sections:
        s["name"] = string(shstrndx, s["name"])
    result = {}
    for s in sections:
        if s["type"] != 2:  # SHT_SYMTAB
            continue
        for k in range(s["size"] // s["entsize"]):
            st_name, st_info, _other, st_shndx, _value, st_size = struct.unpack_from(
                "<IBBHQQ", elf, s["offset"] + k * s["entsize"])
            if st_info & 0xF != 2 or st_shndx == 0 or st_shndx >= len(sections):  # STT_FUNC
                continue
            target = sections[st_shndx]
            if not target["flags"] & 0x4:  # SHF_EXECINSTR
                continue
            result[string(s["link"], st_name)] = (target["name"], st_size // 8)
    return result


if __name__ == "__main__":
    import sys
    for p in sys.argv[1:]:
        for name, (section, count) in sorted(program_sizes(p).items()):
            print(f"{p}: {name} ({section}) {count}")
