#!/usr/bin/env python3
"""Lists project source files over a line limit and functions over a length limit.

  check_sizes.py [--root DIR] [--max-file-lines 1000] [--max-function-lines 150]

Looks at every .h/.cc under agent/, common/, controller/, plugins/ and bench/
(tests/ and generated code are exempt). Exit status 1 when anything is over,
with one line per finding: `PATH: N lines` or `PATH:LINE: NAME: N lines`.

Functions are found with a small C++ scanner rather than a compiler: comments,
string and character literals (raw strings included) and preprocessor lines are
blanked, then each `{` is classified by the text before it. A brace that opens a
namespace, class, struct, union, enum or `extern "C"` block is a container; one
that follows a parameter list `(...)` (with qualifiers, an initializer list or a
trailing return type after it) opens a function, unless the word before the
parenthesis is a control keyword (if, for, while, switch, catch). A lambda at
namespace scope counts as a function; lambdas inside a function count towards
that function. A function's length runs from the line of its name to its
closing brace, as a reader sees it.
"""
import argparse
import os
import re
import sys

SOURCE_DIRS = ("agent", "common", "controller", "plugins", "bench")
CONTROL = {"if", "for", "while", "switch", "catch", "do", "else", "try", "return", "sizeof", "alignof",
           "decltype", "noexcept", "requires", "static_assert", "__attribute__", "alignas"}
CONTAINER = re.compile(r'(^|[\s;{}])(namespace|class|struct|union|enum)\b[^;{}()]*$|extern\s+"C"\s*$', re.S)


def blank(text):
    """Returns text with comments, literals and preprocessor lines replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if line_start and c == "#":
            # A preprocessor directive, with its backslash continuations.
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        line_start = False
        if c == "\n":
            out.append(c)
            line_start = True
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and i + 1 < n and text[i + 1] == '"' and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^()\\\s]{0,16})\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i + m.end())
            end = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c in "\"'":
            # A digit separator (1'000) is not a character literal.
            if c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum():
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def function_name(head):
    """The name before the parameter list of a function head, or None if the head is not one."""
    head = head.strip()
    if not head or ")" not in head:
        return None
    # Find the parameter list: the first top-level (...) group whose opening
    # parenthesis follows a name (operator names included).
    depth = 0
    for k, ch in enumerate(head):
        if ch == "(":
            if depth == 0:
                before = head[:k].rstrip()
                m = re.search(r"(operator\s*(\(\)|[^\s(]+)|~?[A-Za-z_][A-Za-z0-9_:<>,~ ]*?)\s*$", before)
                word = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", before)
                if word and word.group(1) in CONTROL:
                    return None
                if before.endswith("]"):  # a lambda: [captures](params)
                    return "lambda"
                if m and word:
                    name = m.group(1).strip()
                    return name.split()[-1] if " " in name and not name.startswith("operator") else name
                return None
            depth += 1
        elif ch == ")":
            depth -= 1
    return None


def scan(path, text, max_fn):
    """Yields (line, name, length) for functions longer than max_fn lines."""
    clean = blank(text)
    stack = []  # entries: ("container"|"function"|"block", start_line, name)
    head_start = 0  # index where the current statement/declaration head begins
    line = 1
    for i, ch in enumerate(clean):
        if ch == "\n":
            line += 1
            continue
        if ch == ";":
            if not stack or stack[-1][0] == "container":
                head_start = i + 1
            continue
        if ch == "{":
            in_function = any(kind == "function" for kind, _, _ in stack)
            if in_function:
                stack.append(("block", line, None))
                continue
            head = clean[head_start:i]
            if CONTAINER.search(head):
                stack.append(("container", line, None))
            else:
                name = function_name(head)
                if name is None:
                    # A braced initializer at namespace or class scope (`int a[] = {...}`).
                    stack.append(("block", line, None))
                else:
                    stripped = head.lstrip()
                    offset = len(head) - len(stripped)
                    first_line = clean.count("\n", 0, head_start + offset) + 1
                    stack.append(("function", first_line, name))
            head_start = i + 1
            continue
        if ch == "}":
            if not stack:
                continue
            kind, start, name = stack.pop()
            if kind == "function":
                length = line - start + 1
                if length > max_fn:
                    yield start, name, length
            if not stack or stack[-1][0] == "container":
                head_start = i + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--max-file-lines", type=int, default=1000)
    ap.add_argument("--max-function-lines", type=int, default=150)
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    findings = []
    for top in SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in ("build", "node_modules"))
            for f in sorted(filenames):
                if not f.endswith((".h", ".cc")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
                if lines > args.max_file_lines:
                    findings.append(f"{rel}: {lines} lines (limit {args.max_file_lines})")
                for start, name, length in scan(rel, text, args.max_function_lines):
                    findings.append(f"{rel}:{start}: {name}: {length} lines (limit {args.max_function_lines})")
    for f in findings:
        print(f)
    print(f"check_sizes: {len(findings)} over the limits", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
