#!/usr/bin/env python3
"""Rewrites a CUDA source for the CUDA emulator (cuda_emulator.hpp), which compiles it with a C++
compiler: `kernel<<<grid, block, smem, stream>>>(args)` becomes `DIFFEVO_LAUNCH(grid, block, smem,
stream, kernel)(args)`, `extern __shared__ T name[];` becomes `DIFFEVO_DYNAMIC_SHARED(T, name);`, and
the `#if !defined(__CUDACC__)` guards that refuse a non-CUDA compiler become `#if 0`. The library's
sources and public headers stay plain CUDA; only the build's copies are rewritten.

    python3 translate.py <in.cu|in.cuh> <out>
"""
import re
import sys

NAME = r"[A-Za-z_][\w:]*"


def split_top_level(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def kernel_before(s, end):
    """The kernel expression that ends at s[end] (a name, possibly qualified, with template arguments)."""
    i = end
    if s[i - 1] == ">":  # template arguments: walk back to the matching '<'
        depth = 0
        while i > 0:
            i -= 1
            if s[i] == ">":
                depth += 1
            elif s[i] == "<":
                depth -= 1
                if depth == 0:
                    break
    m = re.search(NAME + r"$", s[:i])
    if not m:
        raise SystemExit(f"translate: no kernel name before <<< at offset {end}")
    return m.start()


def translate(s):
    out, pos = [], 0
    while True:
        k = s.find("<<<", pos)
        if k < 0:
            break
        close = s.find(">>>", k)
        if close < 0:
            raise SystemExit(f"translate: unclosed <<< at offset {k}")
        end = k
        while s[end - 1].isspace():
            end -= 1
        start = kernel_before(s, end)
        args = split_top_level(s[k + 3:close])
        if not 2 <= len(args) <= 4:
            raise SystemExit(f"translate: a launch with {len(args)} configuration values at offset {k}")
        args += ["0"] * (4 - len(args))
        out.append(s[pos:start])
        out.append("DIFFEVO_LAUNCH(%s, %s)" % (", ".join(args), s[start:end]))
        out.append("\n" * s.count("\n", end, close))  # keep the line count: __LINE__ names the original
        pos = close + 3
    out.append(s[pos:])
    s = "".join(out)
    s = re.sub(r"extern\s+__shared__\s+(.+?)\s+(\w+)\s*\[\s*\]\s*;", r"DIFFEVO_DYNAMIC_SHARED(\1, \2);", s)
    # Only the exact guard that refuses a non-CUDA compiler (followed by its #error).
    s = re.sub(r"^#if !defined\(__CUDACC__\)\n(#error [^\n]*)$", r"#if 0  // (translated for the CUDA emulator)\n\1", s,
               flags=re.M)
    return s


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        text = f.read()
    result = translate(text)
    with open(sys.argv[2], "w") as f:  # messages and __FILE__/__LINE__ name the original (lines are kept)
        f.write(f'#line 1 "{sys.argv[1]}"\n' + result)
