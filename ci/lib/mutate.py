"""Mutation testing of a lesson's reference solution (python3 standard library only).

ci/mutate is the entry point (see ci/mutate --help). This module makes mutants of the reference
files mechanically, one small change per mutant, deterministic for a given source, and grades each
one with the kit's own grader in a scratch copy of the tree (built once, then one file changes per
mutant, so each mutant costs an incremental rebuild of one object plus the task's test runs).

A mutant is KILLED when the task's items lose points, SURVIVED when they still score full marks,
NOCOMPILE when the mutated file does not compile (not counted: the compiler caught it, not the
tests), and EQUIVALENT when the lesson declares it so in lessons/LESSON/mutants.json with a reason
(not counted either, and never graded).
"""
import argparse
import difflib
import fcntl
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

# ---------------------------------------------------------------------------------------------
# Tokens

TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>(?:u8|u|U|L)?R"(?P<delim>[^(\s]*)\(.*?\)(?P=delim)"|(?:u8|u|U|L)?"(?:\\.|[^"\\\n])*")
  | (?P<char>'(?:\\.|[^'\\\n])+')
  | (?P<number>\d[\w']*(?:\.\d+)?)
  | (?P<name>[A-Za-z_]\w*)
  | (?P<op><<=|>>=|\.\.\.|->|::|<=|>=|==|!=|&&|\|\||\+\+|--|\+=|-=|\*=|/=|%=|&=|\|=|\^=|<<|>>|[-+*/%<>=!&|^~?:;,.(){}\[\]#])
    """,
    re.VERBOSE | re.DOTALL,
)


class Tok:
    __slots__ = ("kind", "text", "start", "end")

    def __init__(self, kind, text, start, end):
        self.kind, self.text, self.start, self.end = kind, text, start, end

    def __repr__(self):
        return f"{self.kind}:{self.text}"


def tokenize(src):
    """Code tokens of a C++ file; comments, whitespace and preprocessor lines are dropped."""
    toks = []
    pos = 0
    at_line_start = True
    while pos < len(src):
        m = TOKEN_RE.match(src, pos)
        if not m:
            raise ValueError(f"cannot tokenize at offset {pos}: {src[pos:pos + 20]!r}")
        kind = m.lastgroup if m.lastgroup != "delim" else "string"
        if m.group("string") is not None:
            kind = "string"
        text = m.group(0)
        if kind == "op" and text == "#" and at_line_start:
            # A preprocessor line (with its continuations) is never mutated.
            end = pos
            while True:
                nl = src.find("\n", end)
                if nl < 0:
                    end = len(src)
                    break
                if src[nl - 1] == "\\":
                    end = nl + 1
                    continue
                end = nl
                break
            pos = end
            continue
        if kind not in ("ws", "comment"):
            toks.append(Tok(kind, text, m.start(), m.end()))
            at_line_start = False
        elif "\n" in text:
            at_line_start = True
        pos = m.end()
    return toks


# ---------------------------------------------------------------------------------------------
# Mutants

class Mutant:
    def __init__(self, file, op, start, end, replacement, what):
        self.file, self.op, self.start, self.end = file, op, start, end
        self.replacement, self.what = replacement, what
        self.line = 0
        self.id = ""
        self.task = ""
        self.orig_line = ""
        self.new_line = ""

    def apply(self, src):
        return src[: self.start] + self.replacement + src[self.end:]


REL_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
LOGIC_SWAP = {"&&": "||", "||": "&&"}
ARITH_SWAP = {"+": "-", "-": "+", "+=": "-=", "-=": "+=", "++": "--", "--": "++"}
NAME_SWAP = {
    "notify_all": ["notify_one"],
    "true": ["false"],
    "false": ["true"],
    "min": ["max"],
    "max": ["min"],
    "u128": ["std::uint64_t"],
    "memory_order_acquire": ["memory_order_relaxed"],
    "memory_order_release": ["memory_order_relaxed"],
    "memory_order_acq_rel": ["memory_order_relaxed"],
    "WNOHANG": ["0"],
    "O_NONBLOCK": ["0"],
    "O_CLOEXEC": ["0"],
}
# Statement kinds that start a declaration or a compound statement: never deleted as a whole.
NOT_A_STATEMENT = {
    "const", "constexpr", "static", "auto", "using", "namespace", "template", "class", "struct",
    "enum", "typedef", "extern", "public", "private", "protected", "case", "default", "if", "for",
    "while", "do", "switch", "try", "catch", "else", "bool", "int", "char", "void", "unsigned",
    "long", "short", "double", "float", "signed", "inline", "friend", "virtual", "explicit",
    "thread_local", "mutable", "volatile", "register", "alignas", "static_assert", "asm",
}
OPEN = {"(": ")", "[": "]", "{": "}"}


def spaced(src, tok):
    """True when the operator is written with a space on each side (a binary operator, not <T>)."""
    return 0 < tok.start and tok.end < len(src) and src[tok.start - 1] == " " and src[tok.end] == " "


def looks_like_declaration(toks, i, end):
    """[i, end) starts with `Type name ...` (a qualified name, template arguments, * or &, a name)."""
    j = i
    saw_type = False
    while j < end:
        t = toks[j]
        if t.kind == "name":
            if saw_type and j + 1 < end and toks[j + 1].text in ("(", "{", "=", ";", "[", ","):
                return True
            if saw_type and toks[j - 1].kind == "name":
                return True
            saw_type = True
            j += 1
            continue
        if t.text == "::":
            j += 1
            continue
        if t.text == "<" and saw_type and not (j > 0 and toks[j - 1].kind == "name" and spaced_between(toks, j)):
            depth = 0
            while j < end:
                if toks[j].text == "<":
                    depth += 1
                elif toks[j].text == ">":
                    depth -= 1
                elif toks[j].text == ">>":
                    depth -= 2
                j += 1
                if depth <= 0:
                    break
            continue
        if t.text in ("*", "&", "&&") and saw_type:
            j += 1
            continue
        return False
    return False


def spaced_between(toks, j):
    return toks[j].start > toks[j - 1].end


def statements(toks):
    """(first, last) token indices of simple statements: they end with `;` at depth 0 and contain
    no compound statement of their own (a lambda inside a call is fine)."""
    out = []
    i = 0
    n = len(toks)
    boundary = True
    stack = []
    while i < n:
        t = toks[i]
        in_block = not stack or stack[-1] == "{"
        if t.text in OPEN:
            stack.append(t.text)
        elif t.text in (")", "]", "}") and stack:
            stack.pop()
        if boundary and in_block and t.text not in (";", "{", "}", ")") and t.kind != "string":
            # Scan to the `;` that ends this statement.
            depth = 0
            j = i
            compound = False
            while j < n:
                x = toks[j].text
                if x in OPEN:
                    if x == "{" and depth == 0:
                        compound = True
                        break
                    depth += 1
                elif x in (")", "]", "}"):
                    if depth == 0:
                        compound = True  # the end of an enclosing construct: not a statement
                        break
                    depth -= 1
                elif x == ";" and depth == 0:
                    break
                j += 1
            if not compound and j < n:
                out.append((i, j))
        boundary = t.text in (";", "{", "}") or t.text == "else"
        i += 1
    return out


def make_mutants(path, rel, src):
    toks = tokenize(src)
    muts = []

    def add(op, tok_or_span, repl, what):
        if isinstance(tok_or_span, Tok):
            start, end = tok_or_span.start, tok_or_span.end
        else:
            start, end = tok_or_span
        muts.append(Mutant(rel, op, start, end, repl, what))

    for k, t in enumerate(toks):
        if t.kind == "op":
            if t.text in REL_SWAP and spaced(src, t):
                add("rel", t, REL_SWAP[t.text], f"{t.text} -> {REL_SWAP[t.text]}")
            elif t.text in LOGIC_SWAP and spaced(src, t):
                add("logic", t, LOGIC_SWAP[t.text], f"{t.text} -> {LOGIC_SWAP[t.text]}")
            elif t.text in ("+", "-", "+=", "-=") and spaced(src, t):
                add("arith", t, ARITH_SWAP[t.text], f"{t.text} -> {ARITH_SWAP[t.text]}")
            elif t.text in ("++", "--"):
                add("arith", t, ARITH_SWAP[t.text], f"{t.text} -> {ARITH_SWAP[t.text]}")
            elif t.text == "!" and k + 1 < len(toks) and toks[k + 1].text != "=":
                add("negate", t, "", "drop !")
        elif t.kind == "name":
            for repl in NAME_SWAP.get(t.text, []):
                if t.text == "u128" and k > 0 and toks[k - 1].text == "using":
                    continue
                add("swap", t, repl, f"{t.text} -> {repl}")
            if t.text in ("if", "while") and k + 1 < len(toks) and toks[k + 1].text == "(":
                # Invert the condition: if (c) -> if (!(c)).
                depth = 0
                j = k + 1
                while j < len(toks):
                    if toks[j].text == "(":
                        depth += 1
                    elif toks[j].text == ")":
                        depth -= 1
                        if depth == 0:
                            break
                    j += 1
                inner = src[toks[k + 2].start:toks[j].start]
                if j == k + 5 and toks[k + 3].text in ("==", "!="):
                    continue  # `if (a == b)` inverted is the rel mutant `a != b` again
                add("invert", (toks[k + 2].start, toks[j].start), f"!({inner})", f"{t.text} condition inverted")
        elif (t.kind == "number" and re.fullmatch(r"\d+", t.text.rstrip("uUlL"))
              and k > 0 and toks[k - 1].text not in ("(", ",", "[", "{")):
            value = int(t.text.rstrip("uUlL"))
            suffix = t.text[len(t.text.rstrip("uUlL")):]
            if value <= 1000:
                add("bound", t, f"{value + 1}{suffix}", f"{t.text} -> {value + 1}{suffix}")
                if value > 0:
                    add("bound", t, f"{value - 1}{suffix}", f"{t.text} -> {value - 1}{suffix}")

    for first, last in statements(toks):
        head = toks[first]
        if head.text in NOT_A_STATEMENT:
            continue
        if head.text == "return" and toks[first + 1].text != ";":
            continue  # a value return cannot simply go
        if looks_like_declaration(toks, first, last + 1):
            continue
        # The scoped-lock guard of a critical section is a declaration and stays; what it guards
        # may go (that is "remove a statement under a lock").
        start, end = head.start, toks[last].end
        text = " ".join(src[start:end].split())
        add("delete", (start, end), "", f"delete `{text[:60]}`")

    # Number the mutants and remember their lines; drop duplicates (same resulting text).
    seen = set()
    out = []
    lines = src.split("\n")
    for m in muts:
        result = m.apply(src)
        if result in seen or result == src:
            continue
        seen.add(result)
        m.line = src.count("\n", 0, m.start) + 1
        last_line = src.count("\n", 0, m.end) + 1
        m.orig_line = " ".join("\n".join(lines[m.line - 1:last_line]).split())
        new_lines = result.split("\n")
        span = len(new_lines) - len(lines)
        m.new_line = " ".join("\n".join(new_lines[m.line - 1:last_line + span]).split())
        out.append(m)
    out.sort(key=lambda m: (m.start, m.op, m.replacement))
    base = os.path.basename(rel)
    per_line = {}
    for m in out:
        # Numbered within its line and operator, so that an edit elsewhere keeps the id.
        key = (m.line, m.op)
        per_line[key] = per_line.get(key, 0) + 1
        m.id = f"{base}:{m.line}:{m.op}{per_line[key]}"
    return out


# ---------------------------------------------------------------------------------------------
# The lesson's declaration of files, tasks and equivalent mutants


def load_decl(root, lesson):
    path = os.path.join(root, "lessons", lesson, "mutants.json")
    try:
        with open(path, encoding="utf-8") as f:
            decl = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"ci/mutate: cannot read {path}: {e}\n"
                 f"  fix: declare the lesson's files, tasks and equivalent mutants there (see ci/mutate --help)")
    for key in ("files", "equivalent"):
        if key not in decl:
            sys.exit(f"ci/mutate: {path} has no '{key}' key; see ci/mutate --help for the format")
    for k, e in enumerate(decl["equivalent"]):
        missing = [x for x in ("file", "line", "mutant", "why") if not e.get(x) and e.get(x) != ""]
        unknown = sorted(set(e) - {"file", "line", "mutant", "why", "regex"})
        if missing or unknown or not e.get("why"):
            sys.exit(f"ci/mutate: {path}: equivalent[{k}] lacks {', '.join(missing) or 'a why'}"
                     f"{' and has unknown keys ' + ', '.join(unknown) if unknown else ''} "
                     f"(every entry needs file, line, mutant and a reason why)")
        if e.get("regex"):
            try:
                e["_line"], e["_mutant"] = re.compile(e["line"]), re.compile(e["mutant"])
            except re.error as err:
                sys.exit(f"ci/mutate: {path}: equivalent[{k}] has a bad regular expression: {err}")
    return path, decl


def equivalent_reason(decl, m):
    """The declared reason why mutant `m` is equivalent, or None. An entry matches the original
    and the mutated line exactly, or with "regex": true, as full-match regular expressions."""
    for e in decl["equivalent"]:
        if e["file"] not in ("*", os.path.basename(m.file)):
            continue
        if e.get("regex"):
            if e["_line"].fullmatch(m.orig_line) and e["_mutant"].fullmatch(m.new_line):
                return e["why"]
        elif e["line"] == m.orig_line and e["mutant"] == m.new_line:
            return e["why"]
    return None


# ---------------------------------------------------------------------------------------------
# The scratch tree and the grader


def run(cmd, cwd, log, timeout=None):
    with open(log, "ab") as out:
        out.write(("\n$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        try:
            return subprocess.run(["nice", "-n", "10"] + cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False).returncode
        except subprocess.TimeoutExpired:
            return 124


def write_fresh(path, data):
    """Write `data` with a new mtime, so that Ninja rebuilds the file even when it is unchanged."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(data)
    now = time.time()
    os.utime(path, (now, now))


def sync_tree(root, scratch):
    """Copy every tracked or untracked-but-not-ignored file whose content differs into `scratch`."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, check=True,
                           capture_output=True).stdout.decode().split("\0")
    changed = 0
    for name in names:
        if not name or name.startswith("build/"):
            continue
        src = os.path.join(root, name)
        dst = os.path.join(scratch, name)
        if not os.path.isfile(src):
            continue
        with open(src, "rb") as f:
            data = f.read()
        try:
            with open(dst, "rb") as f:
                same = f.read() == data
        except OSError:
            same = False
        if not same:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "wb") as f:
                f.write(data)
            shutil.copymode(src, dst)
            changed += 1
    return changed


class Grader:
    def __init__(self, root, scratch, lesson, variant, logs):
        self.root, self.scratch, self.lesson, self.variant = root, scratch, lesson, variant
        self.logs = logs
        self.build = os.path.join(scratch, "build", f"solution-{variant}")
        self.objects = {}

    def grade(self, items, out, log, direct=False, timeout=900):
        """Grades `items` in the scratch tree with ci/grade (direct: kit-grade itself, which ci/grade
        runs after checking packages and the grader's build: done once, for the baseline).
        Returns (exit status, {item: (score, max, output)})."""
        shutil.rmtree(out, ignore_errors=True)
        tool = [os.path.join(self.scratch, "build", "grader", "grader", "kit-grade")] if direct else ["ci/grade"]
        rc = run(tool + [self.lesson, "--impl", "solution", "--variants", self.variant, "--only",
                         ",".join(items), "--no-tidy", "--out", out, "--format", "text"], self.scratch, log,
                 timeout=timeout)
        scores = {}
        try:
            with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
                res = json.load(f)
            for t in res.get("tests", []):
                scores[t.get("name", "?")] = (float(t.get("score", 0)), float(t.get("max_score", 0)),
                                              t.get("output", ""))
        except (OSError, ValueError):
            pass
        return rc, scores

    def object_target(self, rel):
        if rel not in self.objects:
            targets = subprocess.run(["ninja", "-C", self.build, "-t", "targets", "all"], check=True,
                                     capture_output=True, text=True).stdout
            key = rel.replace("/", "_")
            found = [line.split(":")[0] for line in targets.splitlines()
                     if line.split(":")[0].endswith(key + ".o")]
            if not found:
                sys.exit(f"ci/mutate: no object for {rel} in {self.build}; is the lesson built with -Dimpl=solution?")
            self.objects[rel] = found[0]
        return self.objects[rel]

    def compiles(self, rel, log):
        return run(["ninja", "-C", self.build, self.object_target(rel)], self.scratch, log, timeout=600) == 0


def item_names(score_map):
    return sorted(score_map)


def main(argv):
    p = argparse.ArgumentParser(prog="ci/mutate", add_help=False)
    p.add_argument("lesson")
    p.add_argument("--sample", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--task", default="")
    p.add_argument("--file", default="")
    p.add_argument("--only", default="", help="comma-separated mutant ids")
    p.add_argument("--list", action="store_true")
    p.add_argument("--variant", default="plain")
    p.add_argument("--root", required=True)
    p.add_argument("--threshold", type=float, default=90.0)
    args = p.parse_args(argv)

    root = args.root
    lesson = args.lesson
    decl_path, decl = load_decl(root, lesson)
    files = decl["files"]  # {"thread_pool.cpp": "7.2", ...}
    work = os.path.join(root, "build", "mutate", lesson)
    scratch = os.path.join(root, "build", "mutate", "tree")
    logs = os.path.join(work, "logs")
    os.makedirs(logs, exist_ok=True)

    # Every mutant of every declared reference file, in a fixed order.
    mutants = []
    sources = {}
    for base in sorted(files):
        if args.file and base != args.file:
            continue
        rel = f"solutions/{lesson}/src/{base}"
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as f:
                sources[rel] = f.read()
        except OSError as e:
            sys.exit(f"ci/mutate: {decl_path} names {base}, but {rel} cannot be read: {e}")
        for m in make_mutants(os.path.join(root, rel), rel, sources[rel]):
            m.task = files[base]
            mutants.append(m)
    if args.task:
        mutants = [m for m in mutants if m.task == args.task]
    if args.only:
        wanted = set(args.only.split(","))
        mutants = [m for m in mutants if m.id in wanted]

    equivalent = []
    todo = []
    for m in mutants:
        why = equivalent_reason(decl, m)
        (equivalent if why else todo).append((m, why))
    todo = [m for m, _ in todo]

    if args.list:
        for m in mutants:
            why = equivalent_reason(decl, m)
            print(f"{m.id}\t{m.task}\t{m.what}\t{m.new_line}" + (f"\tEQUIVALENT: {why}" if why else ""))
        print(f"{len(mutants)} mutants, {len(equivalent)} declared equivalent", file=sys.stderr)
        return 0

    if args.sample:
        # A fixed, seeded sample, split over the tasks in proportion to their mutants (at least
        # four each), so that every task's kill rate is checked.
        rng = random.Random(args.seed)
        by_task = {}
        for m in todo:
            by_task.setdefault(m.task, []).append(m)
        total = max(1, len(todo))
        picked = []
        for task in sorted(by_task):
            share = max(4, round(args.sample * len(by_task[task]) / total))
            picked += rng.sample(by_task[task], min(share, len(by_task[task])))
        todo = sorted(picked, key=lambda m: (m.file, m.start))

    # The scratch tree: synced from the working tree, the reference built and graded once. One
    # run at a time: a second one would overwrite the first one's mutants.
    os.makedirs(scratch, exist_ok=True)
    lock = open(os.path.join(root, "build", "mutate", "lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(f"ci/mutate: another ci/mutate is running in {scratch}; wait for it to finish "
                 f"(or end it) and run again")
    sync_tree(root, scratch)
    grader = Grader(root, scratch, lesson, args.variant, logs)
    # Items per task come from the lesson's manifest, so they are never listed twice.
    started = time.time()
    base_log = os.path.join(logs, "baseline.log")
    open(base_log, "w").close()
    manifest_path = os.path.join(grader.build, "kit", f"{lesson}.json")
    if not os.path.exists(manifest_path):
        run(["ci/grade", lesson, "--impl", "solution", "--variants", args.variant, "--no-tidy", "--out",
             os.path.join(work, "baseline")], scratch, base_log, timeout=1800)
    try:
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"ci/mutate: cannot read the manifest {manifest_path} after building the reference: {e}\n"
                 f"  see {base_log}")
    items_of = {}
    for it in manifest["items"]:
        if args.variant in it["variants"] and it.get("present", True):
            items_of.setdefault(it["task"], []).append(it["name"])
    tasks = sorted({m.task for m in todo} | {m.task for m, _ in equivalent})
    for task in tasks:
        if task not in items_of:
            sys.exit(f"ci/mutate: {decl_path} maps a file to task {task}, but the manifest has no item of task {task}")
    # Restore every reference file (an interrupted run may have left a mutant behind).
    for rel, src in sources.items():
        dst = os.path.join(scratch, rel)
        with open(dst, encoding="utf-8") as f:
            if f.read() != src:
                write_fresh(dst, src)
    for task in tasks:
        # The first grade after a sync rebuilds whatever changed (on a busy machine, minutes).
        rc, scores = grader.grade(items_of[task], os.path.join(work, f"baseline-{task}"), base_log, timeout=3600)
        lost = [n for n, (s, mx, _) in scores.items() if s < mx]
        if rc != 0 or lost or not scores:
            sys.exit(f"ci/mutate: the unmutated reference does not score full marks on task {task} "
                     f"(exit {rc}, items losing points: {', '.join(lost) or 'none read'}); see {base_log}\n"
                     f"  fix the reference or its tests first: a mutant can only be judged against a passing baseline")
    baseline_secs = time.time() - started
    print(f"mutate {lesson}: baseline graded in {baseline_secs:.0f}s; {len(todo)} mutants to grade "
          f"({len(equivalent)} declared equivalent, not graded), variant {args.variant}", flush=True)

    results = []
    for k, m in enumerate(todo, 1):
        rel = m.file
        dst = os.path.join(scratch, rel)
        log = os.path.join(logs, m.id.replace(":", "_") + ".log")
        open(log, "w").close()
        t0 = time.time()
        write_fresh(dst, m.apply(sources[rel]))
        try:
            if not grader.compiles(rel, log):
                status, killers = "NOCOMPILE", []
            else:
                rc, scores = grader.grade(items_of[m.task], os.path.join(work, "out", m.id.replace(":", "_")), log,
                                          direct=True)
                killers = [n for n, (s, mx, _) in sorted(scores.items()) if s < mx]
                if rc == 2 or not scores:
                    status = "ERROR"
                elif killers:
                    status = "KILLED"
                else:
                    status = "SURVIVED"
        finally:
            write_fresh(dst, sources[rel])
        secs = time.time() - t0
        results.append((m, status, killers, secs))
        # Per-mutant lines say killed/SURVIVED, not PASS/FAIL: the PASS/FAIL lines are the tasks'
        # verdicts, which the last line counts.
        tag = {"KILLED": "killed", "SURVIVED": "SURVIVED", "NOCOMPILE": "nocompile", "ERROR": "ERROR"}[status]
        detail = f"killed by {', '.join(killers)}" if killers else {
            "SURVIVED": "survived: every item of the task still scores full marks",
            "NOCOMPILE": "does not compile (not counted)",
            "ERROR": f"the grader could not grade it (see {log})"}[status]
        print(f"[{k}/{len(todo)}] {tag} {m.id} ({m.task}, {m.what}): {detail} [{secs:.0f}s]", flush=True)

    # Per-task figures.
    report = {"lesson": lesson, "variant": args.variant, "sample": args.sample, "seed": args.seed, "tasks": {},
              "mutants": []}
    ok_all = True
    summary_lines = []
    for task in tasks:
        rs = [r for r in results if r[0].task == task]
        killed = sum(1 for r in rs if r[1] == "KILLED")
        survived = sum(1 for r in rs if r[1] in ("SURVIVED", "ERROR"))
        nocompile = sum(1 for r in rs if r[1] == "NOCOMPILE")
        equiv = sum(1 for m, _ in equivalent if m.task == task)
        counted = killed + survived
        rate = 100.0 * killed / counted if counted else 100.0
        ok = rate >= args.threshold
        ok_all = ok_all and ok
        report["tasks"][task] = {"killed": killed, "survived": survived, "nocompile": nocompile,
                                 "equivalent": equiv, "kill_rate": round(rate, 1)}
        summary_lines.append(
            f"{'PASS' if ok else 'FAIL'} mutate {lesson} task {task}: {killed} of {counted} non-equivalent mutants "
            f"killed ({rate:.1f} %, target {args.threshold:.0f} %); {nocompile} did not compile (not counted), "
            f"{equiv} declared equivalent")
    survivors = [r for r in results if r[1] in ("SURVIVED", "ERROR")]
    if survivors:
        print(f"\nSurvivors ({len(survivors)}):")
        for m, status, _, _ in survivors:
            diff = difflib.unified_diff(sources[m.file].splitlines(), m.apply(sources[m.file]).splitlines(),
                                        f"a/{m.file}", f"b/{m.file}", n=1, lineterm="")
            print(f"--- {m.id} ({m.task}, {m.what}, {status})")
            print("\n".join(diff))
    for m, status, killers, secs in results:
        report["mutants"].append({"id": m.id, "task": m.task, "op": m.op, "what": m.what, "status": status,
                                  "killed_by": killers, "line": m.orig_line, "mutant": m.new_line,
                                  "seconds": round(secs, 1)})
    for m, why in equivalent:
        report["mutants"].append({"id": m.id, "task": m.task, "op": m.op, "what": m.what, "status": "EQUIVALENT",
                                  "why": why, "line": m.orig_line, "mutant": m.new_line})
    out_json = os.path.join(work, "sample.json" if args.sample else "report.json")
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    elapsed = time.time() - started
    print()
    for line in summary_lines:
        print(line)
    print(f"mutate {lesson}: {len(results)} mutants graded in {elapsed:.0f}s; report {os.path.relpath(out_json, root)}")
    passed = sum(1 for line in summary_lines if line.startswith("PASS"))
    print(f"{passed} passed, {len(summary_lines) - passed} failed")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
