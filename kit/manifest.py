"""Writes a lesson manifest (or the list of lessons) as JSON at configure time; run by kit/meson.build.

Meson 1.0 has no JSON writer, so kit/meson.build hands the data over as a stream of typed tokens, one per
argument (no quoting or escaping can go wrong): '{' '}' '[' ']' open and close objects and lists,
'k:KEY' names the next member of an object, 's:TEXT' is a string, 'n:NUMBER' a number and 'b:true' or
'b:false' a boolean. kit/meson.build has already rejected unknown and missing keys (its schema holds the
defaults); this script checks the values (choices, references between items and bugs, duplicates) and
writes the file atomically.

Usage: manifest.py lesson OUT SOURCE TOKENS...   SOURCE is the declaration's path for error messages
       manifest.py lessons OUT TOKENS...
Exit status 1 with one line on stderr naming the lesson, the item and the key when a value is wrong.
"""
import json
import os
import sys
import tempfile

FORMAT_VERSION = 1
VARIANTS = ("plain", "asan", "tsan")
VISIBILITIES = ("public", "hidden")


class DeclarationError(Exception):
    pass


def parse(tokens):
    """Turns the token stream into one JSON value."""
    pos = 0

    def value():
        nonlocal pos
        if pos >= len(tokens):
            raise DeclarationError("internal: the token stream from kit/meson.build ends early")
        tok = tokens[pos]
        pos += 1
        if tok == "{":
            obj = {}
            while tokens[pos] != "}":
                key = tokens[pos]
                if not key.startswith("k:"):
                    raise DeclarationError(f"internal: expected a key, got {key!r}")
                pos += 1
                obj[key[2:]] = value()
            pos += 1
            return obj
        if tok == "[":
            arr = []
            while tokens[pos] != "]":
                arr.append(value())
            pos += 1
            return arr
        kind, _, text = tok.partition(":")
        if kind == "s":
            return text
        if kind == "b":
            return text == "true"
        if kind == "n":
            try:
                number = float(text)
            except ValueError:
                raise DeclarationError(f"expected a number, got '{text}'") from None
            return int(number) if number.is_integer() else number
        raise DeclarationError(f"internal: unknown token {tok!r}")

    result = value()
    if pos != len(tokens):
        raise DeclarationError("internal: tokens left over after the manifest")
    return result


def check_lesson(m):
    """Value checks Meson cannot express; raises DeclarationError naming the item and key."""
    lesson = m["name"]
    seen = set()
    tasks = set()
    for it in m["items"]:
        where = f"item '{it['name']}'"
        if it["name"] in seen:
            raise DeclarationError(f"{where} is declared twice: item names must be unique")
        seen.add(it["name"])
        tasks.add(it["task"])
        if not it["filter"].strip():
            raise DeclarationError(f"{where}: key 'filter' is empty: name the gtest cases it grades")
        if not isinstance(it["points"], (int, float)) or it["points"] <= 0:
            raise DeclarationError(f"{where}: key 'points' must be a positive number, got {it['points']!r}")
        if it["visibility"] not in VISIBILITIES:
            raise DeclarationError(
                f"{where}: key 'visibility' is '{it['visibility']}'; use one of {', '.join(VISIBILITIES)}")
        bad = [v for v in it["variants"] if v not in VARIANTS]
        if bad or not it["variants"]:
            raise DeclarationError(
                f"{where}: key 'variants' holds {bad or 'nothing'}; use a non-empty subset of {', '.join(VARIANTS)}")
        if not isinstance(it["repeat"], int) or it["repeat"] < 1:
            raise DeclarationError(f"{where}: key 'repeat' must be a whole number >= 1, got {it['repeat']!r}")
        if it["timeout"] <= 0:
            raise DeclarationError(f"{where}: key 'timeout' must be positive seconds, got {it['timeout']!r}")
    student = {p.rsplit("/", 1)[-1] for p in m["student"]}
    for b in m["bugs"]:
        where = f"bug '{b['name']}'"
        if b["file"] not in student:
            raise DeclarationError(f"{where}: key 'file' is '{b['file']}', which is not a student file of {lesson}")
        unknown = [i for i in b["items"] if i not in seen]
        if unknown or not b["items"]:
            raise DeclarationError(f"{where}: key 'items' names {unknown or 'no item'}; name graded items of {lesson}")
        if b["variant"] not in VARIANTS:
            raise DeclarationError(f"{where}: key 'variant' is '{b['variant']}'; use one of {', '.join(VARIANTS)}")
        if not b["why"].strip():
            raise DeclarationError(f"{where}: key 'why' is empty: say what the bug is and which test catches it")
    m["tasks"] = sorted(tasks)


def write_atomically(path, doc):
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".manifest-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv):
    if len(argv) < 3 or argv[1] not in ("lesson", "lessons"):
        sys.exit(__doc__)
    mode, out = argv[1], argv[2]
    try:
        if mode == "lesson":
            source = argv[3]
            doc = {"format_version": FORMAT_VERSION}
            doc.update(parse(argv[4:]))
            try:
                check_lesson(doc)
            except DeclarationError as e:
                raise DeclarationError(f"{source}: lesson '{doc['name']}': {e}") from None
        else:
            doc = {"format_version": FORMAT_VERSION, "lessons": parse(argv[3:])}
    except DeclarationError as e:
        print(e, file=sys.stderr)
        return 1
    write_atomically(out, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
