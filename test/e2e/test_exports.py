# nm -D of libsk-phone.so: exactly the four provider entry points.
"""TAP test: the provider exports sk_api_version, sk_enroll, sk_sign and
sk_load_resident_keys and nothing else (the version script's local: *).
"""

import fnmatch
import subprocess
import sys

WANT = {"sk_api_version", "sk_enroll", "sk_sign", "sk_load_resident_keys"}


def symbols(lib, *flags):
    out = subprocess.run(["nm", "-D", *flags, lib], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if parts:
            syms.add((parts[-2] if len(parts) > 1 else "", parts[-1]))
    return syms


def main():
    lib = sys.argv[1]
    defined = symbols(lib, "--defined-only")
    every = symbols(lib)
    cases = []
    names = {n.split("@")[0] for _, n in defined}
    cases.append(("exactly_four_defined", names == WANT,
                  "defined: %s" % sorted(names)))
    cases.append(("all_four_are_functions",
                  all(t == "T" for t, n in defined if n in WANT),
                  "types: %s" % sorted(defined)))
    sk = {n for _, n in every if n.startswith("sk_")}
    cases.append(("no_other_sk_symbol", sk == WANT, "sk_*: %s" % sorted(sk)))
    skp = {n for _, n in defined if n.startswith("skp_")}
    cases.append(("core_hidden", not skp, "skp_*: %s" % sorted(skp)))
    # libwebsockets and libssl are loaded on the first relay connection
    # (include/sk-phone/lazylib.h), not with every signature.
    dyn = subprocess.run(["readelf", "-d", lib], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    needed = [ln.split("[")[-1].rstrip("]") for ln in dyn.splitlines()
              if "(NEEDED)" in ln]
    cases.append(("websockets_and_ssl_not_linked",
                  needed and not [n for n in needed if
                                  n.startswith(("libwebsockets", "libssl"))],
                  "NEEDED: %s" % needed))
    # ssh-agent loads providers only from its -P allowlist, by default
    # /usr/lib*/* and /usr/local/lib*/* ('*' crosses '/'), after realpath.
    if len(sys.argv) > 2:
        installed = sys.argv[2]
        prefixes = ("/usr/", "/usr/local/")
        if installed.startswith(prefixes):
            ok = any(fnmatch.fnmatchcase(installed, p)
                     for p in ("/usr/lib*/*", "/usr/local/lib*/*"))
            cases.append(("installed_in_agent_allowlist", ok, installed))
        else:
            cases.append(("installed_in_agent_allowlist # prefix outside "
                          "/usr: ssh-agent needs -P", True, installed))
    print("1..%d" % len(cases))
    bad = 0
    for i, (name, ok, detail) in enumerate(cases, 1):
        print("%s %d %s" % ("ok" if ok else "not ok", i, name))
        if not ok:
            bad += 1
            print("# " + detail)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
