"""The one JSON tool of the kit's bash scripts (python3 standard library only; ci/install-deps installs python3).

Usage: kitjson.py COMMAND ARGS...
  items MANIFEST              name<TAB>task<TAB>visibility<TAB>filter<TAB>variants(comma)<TAB>binary<TAB>present
  bugs MANIFEST               name<TAB>file<TAB>items(comma)<TAB>variant
  student MANIFEST            one student-owned path per line
  get FILE KEY                a top-level string value
  list FILE KEY               a top-level list, one element per line
  lessons LESSONS_JSON        every declared lesson (<builddir>/kit/lessons.json), one name per line
  results TESTLOG             item<TAB>result for every test of a meson testlog.json (last entry wins)
  grade RESULTS_JSON          item<TAB>task<TAB>graded(true|false)<TAB>passed(true|false)<TAB>score<TAB>max_score
                              for every test of a kit-grade results.json
  score RESULTS_JSON          score<TAB>max_score<TAB>compile errors (count) of a kit-grade results.json
  timings RESULTS_JSON WALL   "wall configure build test tidy score/max" (seconds) for ci/bench-grader
  run FILE PATH               one value of a kit-run verdict file, PATH like runs.0.status or runs.0.hang.kind
                              ("missing" when absent)
  run-note FILE WORD          exit 0 when a note of the first run mentions WORD
  coverage MANIFEST BUILDDIR  lists the cases of the built test binaries (--gtest_list_tests) and matches them
                              with the items' gtest filters; prints one problem per line, exit 1 if any
  match NAME FILTER           exit 0 when the gtest FILTER selects the test NAME (Suite.Case)
Every error names the file and what to do; exit status 2.
"""
import json
import subprocess
import sys


def fail(message):
    print(f"kitjson: {message}", file=sys.stderr)
    sys.exit(2)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}")


def manifest(path):
    doc = load(path)
    if doc.get("format_version") != 1:
        fail(f"{path} has format_version {doc.get('format_version')!r}, not 1: reconfigure its build directory "
             "(meson setup --reconfigure DIR) so this kit's Meson files rewrite it")
    return doc


# --- gtest filter semantics, as GoogleTest's UnitTestOptions::FilterMatchesTest applies them -------------
def glob_matches(pattern, name):
    """'*' matches any run of characters, '?' any one character; nothing else is special."""
    p = n = 0
    star_p = star_n = -1
    while n < len(name):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == name[n]):
            p += 1
            n += 1
        elif p < len(pattern) and pattern[p] == "*":
            star_p, star_n = p, n
            p += 1
        elif star_p >= 0:
            p = star_p + 1
            star_n += 1
            n = star_n
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def filter_matches(filt, name):
    """FILTER is POSITIVE[-NEGATIVE], each ':'-separated patterns; an empty positive part means '*'."""
    positive, _, negative = filt.partition("-")
    patterns = [x for x in positive.split(":") if x] or ["*"]
    if not any(glob_matches(x, name) for x in patterns):
        return False
    return not any(glob_matches(x, name) for x in negative.split(":") if x)


def list_tests(binary):
    """Suite.Case for every test of a gtest binary, from its own --gtest_list_tests."""
    try:
        out = subprocess.run([binary, "--gtest_list_tests"], capture_output=True, text=True, timeout=60,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        fail(f"cannot list the tests of {binary} ({e}): build it first (ninja -C BUILDDIR)")
    cases = []
    suite = ""
    for line in out.splitlines():
        text = line.split("#", 1)[0].rstrip()
        if not text.strip():
            continue
        if line.startswith("  "):
            cases.append(suite + text.strip())
        else:
            suite = text.strip()
    return cases


def coverage(manifest_path, build_dir):
    doc = manifest(manifest_path)
    items = [it for it in doc["items"] if it["present"]]
    hits = {it["name"]: 0 for it in items}
    problems = []
    total = 0
    for binary in sorted({it["binary"] for it in items}):
        mine = [it for it in items if it["binary"] == binary]
        for case in list_tests(f"{build_dir}/kit/{binary}"):
            total += 1
            owners = [it["name"] for it in mine if filter_matches(it["filter"], case)]
            for o in owners:
                hits[o] += 1
            if len(owners) != 1:
                problems.append(f"{binary} case {case} is in {len(owners)} items ({', '.join(owners) or 'none'})")
    problems += [f"item {name} selects no gtest case" for name, n in hits.items() if n == 0]
    for p in problems:
        print(p)
    print(f"checked {total} cases against {len(items)} items", file=sys.stderr)
    return 1 if problems else 0


def grade_tests(path):
    doc = load(path)
    if "tests" not in doc:
        fail(f"{path} is not a kit-grade results.json (no 'tests')")
    rows = []
    for t in doc["tests"]:
        rows.append([t["name"].split(" ")[-1], t.get("number", ""), "false" if "not-graded" in t.get("tags", []) else "true",
                     "true" if t["status"] == "passed" else "false", f"{t['score']:g}", f"{t['max_score']:g}"])
    return doc, rows


def dig(doc, path):
    for part in path.split("."):
        if isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            return "missing"
    return doc if isinstance(doc, str) else json.dumps(doc)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, path, rest = argv[1], argv[2], argv[3:]
    if cmd == "match":
        return 0 if filter_matches(rest[0], path) else 1
    if cmd == "results":
        out = {}
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        entry = json.loads(line)
                        out[entry["name"].split(" / ")[-1]] = entry["result"]
        except (OSError, ValueError, KeyError) as e:
            fail(f"cannot read the meson test log {path}: {e}")
        for name, result in out.items():
            print(f"{name}\t{result}")
    elif cmd == "items":
        for it in manifest(path)["items"]:
            print("\t".join([it["name"], it["task"], it["visibility"], it["filter"], ",".join(it["variants"]),
                             it["binary"], str(it["present"]).lower()]))
    elif cmd == "bugs":
        for b in manifest(path)["bugs"]:
            print("\t".join([b["name"], b["file"], ",".join(b["items"]), b["variant"]]))
    elif cmd == "student":
        print("\n".join(manifest(path)["student"]))
    elif cmd == "get":
        print(load(path)[rest[0]])
    elif cmd == "list":
        for x in load(path)[rest[0]]:
            print(x)
    elif cmd == "lessons":
        doc = load(path)
        if doc.get("format_version") != 1:
            fail(f"{path} has no format_version 1: reconfigure its build directory")
        for lesson in doc["lessons"]:
            print(lesson["name"])
    elif cmd == "grade":
        for row in grade_tests(path)[1]:
            print("\t".join(row))
    elif cmd == "score":
        doc = load(path)
        errors = len(doc.get("extra_data", {}).get("compile_errors", []))
        print(f"{doc['score']:g}\t{doc['max_score']:g}\t{errors}")
    elif cmd == "timings":
        doc = load(path)
        t = doc["extra_data"]["timings"]
        print(f'{float(rest[0]):.1f} {t["configure"]:.1f} {t["build"]:.1f} {t["test"]:.1f} {t["tidy"]:.1f} '
              f'{doc["score"]:g}/{doc["max_score"]:g}')
    elif cmd == "run":
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            print("missing")
            return 0
        print(dig(doc, rest[0]))
    elif cmd == "run-note":
        try:
            with open(path, encoding="utf-8") as f:
                notes = json.load(f)["runs"][0].get("notes", [])
        except (OSError, ValueError, KeyError, IndexError):
            return 1
        return 0 if any(rest[0] in n for n in notes) else 1
    elif cmd == "coverage":
        return coverage(path, rest[0])
    else:
        print(f"kitjson: unknown command {cmd}\n{__doc__}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
