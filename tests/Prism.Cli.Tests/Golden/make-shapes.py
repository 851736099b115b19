# Writes the JSON shape files in this folder from a prism.dll: python3 make-shapes.py PRISM_DLL OUTDIR.
# The files here were made from the CLI before System.CommandLine (commit ba0ba4b); JsonShapeTests replays the same
# scenario through the current CLI and requires the same shapes (issue #11: the JSON of issues #2-#5 is unchanged).
import json, subprocess, sys, os, tempfile, shutil
dll, outdir = sys.argv[1], sys.argv[2]
def shape(v):
    if isinstance(v, dict): return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list): return [shape(v[0])] if v else []
    if isinstance(v, bool): return "boolean"
    if v is None: return "null"
    if isinstance(v, (int, float)): return "number"
    return "string"
d = tempfile.mkdtemp()
def prism(*a, ok=(0,)):
    r = subprocess.run(["dotnet", dll, *a], capture_output=True, text=True, cwd=d)
    if r.returncode not in ok: raise SystemExit(f"{a}: {r.returncode} {r.stderr}")
    return r.stdout
cat = os.path.join(d, "catalog.db")
marker = b"PRISM-CLI-GOLDEN-SHAPE-MARKER-5d1e"
open(os.path.join(d, "m.bin"), "wb").write(b"\0" * 1000 + marker + b"\0" * 3000)
open(os.path.join(d, "sig.ndb"), "w").write(f"Prism.Shape.Marker:0:*:{marker.hex()}\n")
fleet = os.path.join(d, "fleet"); os.mkdir(fleet)
for b in ["a", "b"]:
    prism("disk", "create", f"{fleet}/{b}.vhdx", "--size", "16MiB", "--block-size", "1MiB", "--catalog", cat)
    prism("disk", "clone", f"{fleet}/{b}.vhdx", f"{fleet}/{b}-child.vhdx", "--catalog", cat)
    prism("disk", "write", f"{fleet}/{b}-child.vhdx", "--offset", "1048576", "--input", "m.bin", "--catalog", cat)
shapes = {}
shapes["disk-info"] = json.loads(prism("disk", "info", f"{fleet}/a-child.vhdx", "--json"))
shapes["disk-check"] = json.loads(prism("disk", "check", f"{fleet}/a-child.vhdx", "--json"))
shapes["disk-map"] = json.loads(prism("disk", "map", f"{fleet}/a-child.vhdx", "--json"))
prism("scan", f"{fleet}/a.vhdx", f"{fleet}/a-child.vhdx", "--signatures", "sig.ndb", "--json", "one.json", "--quiet", ok=(1,))
shapes["scan"] = json.load(open(os.path.join(d, "one.json")))
prism("scan", "--dir", fleet, "--signatures", "sig.ndb", "--json", "groups.json", "--quiet", ok=(1,))
shapes["scan-groups"] = json.load(open(os.path.join(d, "groups.json")))
shapes["sigs-info"] = json.loads(prism("sigs", "info", "sig.ndb", "--json", "--issues"))
prism("disk", "create", "g.vhdx", "--size", "16MiB", "--block-size", "1MiB", "--catalog", cat)
prism("golden", "add", "g.vhdx", "--name", "g", "--catalog", cat)
prism("clone", "new", "g", "c1", "--catalog", cat)
shapes["golden-list"] = json.loads(prism("golden", "list", "--json", "--catalog", cat))
shapes["clone-list"] = json.loads(prism("clone", "list", "--json", "--catalog", cat))
os.remove(os.path.join(d, "c1.vhdx")) if os.path.exists(os.path.join(d, "c1.vhdx")) else None
shapes["catalog-verify"] = json.loads(prism("catalog", "verify", "--json", "--catalog", cat, ok=(0, 1)))
for k, v in shapes.items():
    with open(os.path.join(outdir, k + ".json"), "w") as f:
        json.dump(shape(v), f, indent=2); f.write("\n")
print("\n".join(sorted(shapes)))
shutil.rmtree(d)
