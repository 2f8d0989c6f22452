# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Read and rewrite the DT_RUNPATH / DT_RPATH of an ELF64 little-endian file, in place.

Used to relocate a copy of a Python interpreter: its binary names the
directory of libpython by absolute path (e.g. ``/root/.pyenv/versions/3.12.1/lib``)
and must name ``$ORIGIN/../lib`` instead once it lives elsewhere.

Pure Python (``struct`` only) because the target host has no patchelf and
the play must not need one. The string is rewritten where it stands in the
dynamic string table, padded with NULs, so nothing in the file moves: that
is why a new string may be shorter than the old one or as long, never longer
(making room would mean relaying out the file, which is patchelf's job).

Only ELF64 little-endian (x86_64, aarch64, ppc64le, riscv64) is read; anything
else raises :class:`ElfError`.
"""

from __future__ import annotations

import os
import struct

# The dynamic entries and program headers we use (elf.h).
DT_NULL = 0
DT_NEEDED = 1
DT_STRTAB = 5
DT_STRSZ = 10
DT_SONAME = 14
DT_RPATH = 15
DT_RUNPATH = 29
PT_LOAD = 1
PT_DYNAMIC = 2

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr
_PHDR = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr
_DYN = struct.Struct("<qQ")  # Elf64_Dyn
_PN_XNUM = 0xFFFF
# Dynamic entries whose values are offsets into the string table; a rewrite
# must not overwrite the bytes of one of them (linkers may merge string tails).
_STRING_TAGS = {DT_NEEDED: "DT_NEEDED", DT_SONAME: "DT_SONAME", DT_RPATH: "DT_RPATH", DT_RUNPATH: "DT_RUNPATH"}


class ElfError(ValueError):
    """The file is not an ELF64 little-endian file we can read, or the rewrite is impossible."""


def _read_at(handle, offset: int, size: int, path: str, what: str) -> bytes:
    handle.seek(offset)
    data = handle.read(size)
    if len(data) != size:
        raise ElfError(f"{path}: truncated ELF file ({what} at offset {offset} runs past the end)")
    return data


def _dynamic(handle, path: str):
    """(file offset of the dynamic string table, its bytes, [(tag, value), ...]) or None for a static file.

    Goes through the program headers, as the dynamic loader does, so a
    binary whose section headers were stripped is read too.
    """
    header = handle.read(_EHDR.size)
    if len(header) < _EHDR.size or header[:4] != b"\x7fELF":
        raise ElfError(f"{path}: not an ELF file")
    if header[4] != 2 or header[5] != 1:
        raise ElfError(f"{path}: not an ELF64 little-endian file (class {header[4]}, data {header[5]})")
    fields = _EHDR.unpack(header)
    phoff, phentsize, phnum = fields[5], fields[9], fields[10]
    if phnum == _PN_XNUM or (phnum and phentsize < _PHDR.size):
        raise ElfError(f"{path}: unsupported program header table")
    loads, dynamic = [], None
    for index in range(phnum):
        raw = _read_at(handle, phoff + index * phentsize, _PHDR.size, path, "program header")
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = _PHDR.unpack(raw)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_filesz, p_offset))
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return None
    raw = _read_at(handle, dynamic[0], dynamic[1], path, "dynamic segment")
    entries = []
    for start in range(0, len(raw) - _DYN.size + 1, _DYN.size):
        tag, value = _DYN.unpack_from(raw, start)
        if tag == DT_NULL:
            break
        entries.append((tag, value))
    values = dict(entries)
    if DT_STRTAB not in values or DT_STRSZ not in values:
        raise ElfError(f"{path}: dynamic segment without a string table")
    # DT_STRTAB is an address in memory; the loadable segment that holds it
    # says where those bytes are in the file.
    address = values[DT_STRTAB]
    for vaddr, filesz, offset in loads:
        if vaddr <= address < vaddr + filesz:
            strtab = offset + (address - vaddr)
            break
    else:
        raise ElfError(f"{path}: the dynamic string table lies in no loadable segment")
    return strtab, _read_at(handle, strtab, values[DT_STRSZ], path, "dynamic string table"), entries


def _string_end(table: bytes, start: int, path: str) -> int:
    end = table.find(b"\0", start)
    if start >= len(table) or end < 0:
        raise ElfError(f"{path}: string offset {start} lies outside the dynamic string table")
    return end


def runpaths(path: str | os.PathLike) -> list[str]:
    """The DT_RPATH and DT_RUNPATH strings of ``path``, in the order of the dynamic segment.

    Empty for a file without them or without a dynamic segment (a static binary).
    """
    path = os.fspath(path)
    with open(path, "rb") as handle:
        found = _dynamic(handle, path)
    if found is None:
        return []
    _strtab, table, entries = found
    return [
        os.fsdecode(table[value : _string_end(table, value, path)])
        for tag, value in entries
        if tag in (DT_RPATH, DT_RUNPATH)
    ]


def set_runpath(path: str | os.PathLike, new: str) -> list[str]:
    """Rewrite every DT_RPATH and DT_RUNPATH string of ``path`` to ``new``, in place; return the old strings.

    Raises ElfError, changing nothing, when the file has neither entry, when
    ``new`` is longer than a string it replaces, or when that string shares
    bytes with another name in the table.
    """
    path = os.fspath(path)
    encoded = os.fsencode(new)
    if b"\0" in encoded:
        raise ElfError(f"{path}: a runpath cannot contain a NUL byte")
    with open(path, "r+b") as handle:
        found = _dynamic(handle, path)
        if found is None:
            raise ElfError(f"{path}: no dynamic segment, so no RUNPATH or RPATH to rewrite")
        strtab, table, entries = found
        targets = sorted({value for tag, value in entries if tag in (DT_RPATH, DT_RUNPATH)})
        if not targets:
            raise ElfError(f"{path}: has no RUNPATH or RPATH to rewrite")
        old = []
        # Check everything before writing anything, so a refusal leaves the file as it was.
        for start in targets:
            end = _string_end(table, start, path)
            old.append(os.fsdecode(table[start:end]))
            if len(encoded) > end - start:
                raise ElfError(
                    f"{path}: the new runpath {new!r} ({len(encoded)} bytes) is longer than the old "
                    f"{old[-1]!r} ({end - start} bytes); it is rewritten in place, so it can only shrink"
                )
            for tag, value in entries:
                if tag in _STRING_TAGS and start < value < end:
                    raise ElfError(f"{path}: the runpath {old[-1]!r} shares its bytes with a {_STRING_TAGS[tag]}")
        for start in targets:
            end = _string_end(table, start, path)
            handle.seek(strtab + start)
            handle.write(encoded + b"\0" * (end - start - len(encoded)))
    return old
