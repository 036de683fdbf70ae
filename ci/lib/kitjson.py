"""Small JSON queries for the kit's bash scripts (python3 standard library only).

Usage: kitjson.py COMMAND FILE [ARGS]
  items FILE                       name<TAB>task<TAB>visibility<TAB>filter<TAB>variants(comma)<TAB>binary<TAB>present
  bugs FILE                        name<TAB>file<TAB>items(comma)<TAB>variant
  student FILE                     one student-owned path per line
  results TESTLOG                  item<TAB>result for every test in a meson testlog.json (last entry wins)
  get FILE KEY                     top-level string value
  list FILE KEY                    top-level list, one element per line
"""
import json
import sys


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"kitjson: cannot read {path}: {e}")


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd, path = argv[1], argv[2]
    if cmd == "results":
        out = {}
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        entry = json.loads(line)
                        out[entry["name"].split(" / ")[-1]] = entry["result"]
        except (OSError, ValueError) as e:
            sys.exit(f"kitjson: cannot read meson test log {path}: {e}")
        for name, result in out.items():
            print(f"{name}\t{result}")
        return
    doc = load(path)
    if cmd == "items":
        for it in doc["items"]:
            print("\t".join([it["name"], it["task"], it["visibility"], it["filter"],
                             ",".join(it["variants"]), it["binary"], str(it["present"]).lower()]))
    elif cmd == "bugs":
        for b in doc["bugs"]:
            print("\t".join([b["name"], b["file"], ",".join(b["items"]), b["variant"]]))
    elif cmd == "student":
        print("\n".join(doc["student"]))
    elif cmd == "get":
        print(doc[argv[3]])
    elif cmd == "list":
        print("\n".join(doc[argv[3]]))
    else:
        sys.exit(f"kitjson: unknown command {cmd}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv)
