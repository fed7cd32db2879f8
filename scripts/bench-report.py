"""Prints scripts/bench's Markdown table from wrk --latency outputs.

    python3 bench-report.py RESULTS.tsv MEMORY.tsv HASH_RATE TITLE PEER(0|1)

RESULTS.tsv: "workload<TAB>ours|peer<TAB>wrk output file" per run; MEMORY.tsv: "name<TAB>MB".
Medians over runs. Sign-in counts successful answers only (2xx); refusals (503) are shown.
"""
import re
import statistics
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")


def parse(path):
    out = {"rps": float("nan"), "p99": float("nan"), "non2xx": 0, "requests": 0, "secs": float("nan"), "errors": 0}
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        return out
    for line in lines:
        line = line.strip()
        if line.startswith("Requests/sec:"):
            out["rps"] = float(line.split()[1])
        elif re.match(r"^99%\s", line):
            out["p99"] = ms(line.split()[1])
        elif line.startswith("Non-2xx or 3xx responses:"):
            out["non2xx"] = int(line.split(":")[1])
        elif line.startswith("Socket errors:"):
            out["errors"] = sum(int(n) for n in re.findall(r"(\d+)", line))
        m = re.match(r"^(\d+) requests in ([\d.]+)(ms|s|m)", line)
        if m:
            out["requests"] = int(m.group(1))
            out["secs"] = ms(m.group(2) + m.group(3)) / 1000.0
    out["ok_rps"] = (out["requests"] - out["non2xx"]) / out["secs"] if out["secs"] > 0 else float("nan")
    return out


def main():
    results, memory, hash_rate, title, peer = sys.argv[1:6]
    runs = {}
    for line in open(results, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 3:
            runs.setdefault((parts[0], parts[1]), []).append(parse(parts[2]))
    mem = {}
    for line in open(memory, encoding="utf-8"):
        name, _, value = line.rstrip("\n").partition("\t")
        mem[name] = value
    try:
        hashes = float(hash_rate)
    except ValueError:
        hashes = float("nan")
    have_peer = peer == "1"

    def med(name, side, key):
        values = [r[key] for r in runs.get((name, side), []) if r[key] == r[key]]
        return statistics.median(values) if values else float("nan")

    def fmt_rps(v):
        return "–" if v != v else f"{v:,.0f}"

    def cell(name, side, ok=False):
        if (name, side) not in runs:
            return "–"
        rps = med(name, side, "ok_rps" if ok else "rps")
        text = f"{fmt_rps(rps)}{'/s' if ok else ' req/s'}, p99 {med(name, side, 'p99'):.2f} ms"
        refused = med(name, side, "non2xx")
        if refused and refused == refused and refused > 0:
            text += f" ({refused:,.0f} refused)"
        return text

    def ratio(name, ok=False):
        key = "ok_rps" if ok else "rps"
        p, o = med(name, "peer", key), med(name, "ours", key)
        return "–" if not have_peer or p != p or p == 0 else f"{o / p:.1f}×"

    def verdict(cond):
        return "–" if cond is None else ("yes" if cond else "**no**")

    def num(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return float("nan")

    cookie, noauth = med("cookie", "ours", "rps"), med("noauth", "ours", "rps")
    healthz = med("healthz", "ours", "rps")
    list_s, list_b = med("list100", "ours", "rps"), med("list100k", "ours", "rps")
    sign_ok, sign_p99 = med("signin", "ours", "ok_rps"), med("signin", "ours", "p99")
    peer_p99 = med("signin", "peer", "p99")
    during = med("during", "ours", "p99")

    def vs_peer(name, times):
        p, o = med(name, "peer", "rps"), med(name, "ours", "rps")
        return None if not have_peer or p != p else o >= times * p

    print(title)
    print()
    print("| work | Django peer | this project | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    print(f"| sibling request authenticated by the access cookie (`GET /api/v1/me`) | {cell('cookie', 'peer')} | "
          f"{cell('cookie', 'ours')} | {ratio('cookie')} | ≥ 20× the peer; within 10 % of the same handler "
          f"without authentication (`/api/v1/bench/me-without-auth`: {fmt_rps(noauth)} req/s, cookie at "
          f"{100 * cookie / noauth:.0f} %; `/healthz`: {fmt_rps(healthz)} req/s, cookie at {100 * cookie / healthz:.0f} %) | "
          f"{verdict(vs_peer('cookie', 20))} / {verdict(cookie >= 0.9 * noauth)} |")
    print(f"| expense list, 20 per page, 100 rows in the tenant | {cell('list100', 'peer')} | "
          f"{cell('list100', 'ours')} | {ratio('list100')} | ≥ 20× the peer | {verdict(vs_peer('list100', 20))} |")
    print(f"| the same list with {mem.get('big_rows', '100,000')} rows in the tenant | – | {cell('list100k', 'ours')} | – | "
          f"within 25 % of the 100-row figure ({100 * list_b / list_s:.0f} %) | {verdict(list_b >= 0.75 * list_s)} |")
    raw_s, raw_b = med("list100raw", "ours", "rps"), med("list100kraw", "ours", "rps")
    peer_list = med("list100", "peer", "rps")
    raw_ratio = f"{raw_s / peer_list:.1f}×" if have_peer and peer_list == peer_list and peer_list > 0 else "–"
    print(f"| the 100-row list read from the database every time (`LIST_CACHE_ENTRIES=0`) | – | "
          f"{cell('list100raw', 'ours')} | {raw_ratio} | (for comparison: a first read of a page) | – |")
    print(f"| the {mem.get('big_rows', '100,000')}-row list read from the database every time | – | {cell('list100kraw', 'ours')} | – | "
          f"within 25 % of the 100-row figure ({100 * raw_b / raw_s:.0f} %) | {verdict(raw_b >= 0.75 * raw_s)} |")
    print(f"| JSON sign-in (argon2id m=19 MiB t=2), -c32 | {cell('signin', 'peer', ok=True)} | "
          f"{cell('signin', 'ours', ok=True)} | {ratio('signin', ok=True)} | within 10 % of the argon2 limit "
          f"({hashes:.1f} hashes/s: {100 * sign_ok / hashes:.0f} %); p99 ≤ the peer's | "
          f"{verdict(sign_ok >= 0.9 * hashes)} / {verdict(None if not have_peer else sign_p99 <= peer_p99)} |")
    print(f"| cookie GETs (-c8) during a -c32 sign-in storm | {cell('during', 'peer')} | {cell('during', 'ours')} | – | "
          f"p99 < 5 ms | {verdict(during < 5)} |")
    print(f"| auth-service sign-in storm, -c64 | – | {cell('storm', 'ours', ok=True)} | – | – | – |")
    a_idle, a_peak, a_after, e_idle = (num(mem.get(k)) for k in ("auth_idle", "auth_peak", "auth_after", "exp_idle"))
    print(f"| auth-service resident memory (VmRSS) | – | {mem.get('auth_idle', '?')} MB idle, {mem.get('auth_peak', '?')} MB "
          f"at the storm's peak, {mem.get('auth_end', '?')} MB at its end, {mem.get('auth_after', '?')} MB "
          f"{mem.get('after_secs', '?')} s after | – | < 30 MB idle, < 150 MB peak, < 60 MB a minute after | "
          f"{verdict(a_idle < 30)} / {verdict(a_peak < 150)} / {verdict(a_after < 60)} |")
    print(f"| expense-service resident memory | – | {mem.get('exp_idle', '?')} MB idle, {mem.get('exp_end', '?')} MB "
          f"after the runs | – | < 30 MB idle | {verdict(e_idle < 30)} |")


if __name__ == "__main__":
    main()
