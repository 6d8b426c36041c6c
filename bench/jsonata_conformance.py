"""How many of the JSONata reference test suite's cases each engine passes.

The suite is jsonata-js's test/test-suite (MIT): groups/*/*.json cases and datasets/*.json,
read as its own runner (test/run-test-suite.js) reads them. A case passes when the engine's
result deep-equals `result` (numbers compared as JSON numbers; `unordered` results as sets), is
undefined for `undefinedResult`, or when the engine raises for a case expecting an error (`code`
or `error`); the table also counts how many of those errors carry the expected code. Cases with
a time and depth limit (`timelimit`/`depth`) run with the engine's own limits; an engine that
has none (or cannot take the bindings a case gives) skips them, counted apart.

Each engine runs in a child process, case after case; a case that hangs for CASE_TIMEOUT_S is
killed and counted failed, and the child starts again after it.

Run (each engine from a venv where it is installed; see BENCHMARKS.md):
    python bench/jsonata_conformance.py --suite /path/to/jsonata/test/test-suite \
        --engine jlens [--jsonata-js /path/to/jsonata.js] [--failures out.txt]
    python bench/jsonata_conformance.py ... --passing out.json  (the ids of the cases passed)
    python bench/jsonata_conformance.py --suite ... --export tests/expressions/jsonata_suite.json \
        --both jsonata-python.json jlens.json   (the differential test's cases: see export())
"""

from __future__ import annotations

import argparse
import json
import math
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CASE_TIMEOUT_S = 10.0


def load_cases(suite: Path) -> list[dict[str, Any]]:
    """Every case of the suite, each with an `id` (group/file#index) and its `input`."""
    datasets = {
        path.stem: json.loads(path.read_text()) for path in (suite / "datasets").glob("*.json")
    }
    cases = []
    for path in sorted((suite / "groups").glob("*/*.json")):
        spec = json.loads(path.read_text())
        for index, case in enumerate(spec if isinstance(spec, list) else [spec]):
            case = dict(case)
            case["id"] = f"{path.parent.name}/{path.stem}#{index}"
            if "expr-file" in case:
                case["expr"] = (path.parent / case["expr-file"]).read_text()
            if "data" in case:
                case["input"] = case["data"]
            elif case.get("dataset") is not None:
                case["input"] = datasets[case["dataset"]]
            cases.append(case)
    return cases


def same(expected: Any, actual: Any) -> bool:
    """JSON equality, integers and floats compared as numbers."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return math.isclose(expected, actual, rel_tol=1e-12, abs_tol=0.0)
    if isinstance(expected, list) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(map(same, expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same(v, actual[k]) for k, v in expected.items()
        )
    return bool(expected == actual)


def plain(value: Any) -> Any:
    """An engine's result as plain JSON (tuples, sequences, lambdas)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return "<function>" if callable(value) or "Lambda" in type(value).__name__ else str(value)


def judge(case: dict[str, Any], engine: Any, undefined: Any) -> tuple[str, str]:
    """('pass' | 'code' | 'fail' | 'skip', detail) for one case; 'code' is a pass whose
    expected error came with another code."""
    from jsonata_engines import EngineError, Unsupported

    limits = (case["timelimit"], case["depth"]) if "timelimit" in case else None
    data = case.get("input", undefined)
    try:
        run = engine(case["expr"])
        result = plain(run(data, case.get("bindings") or {}, limits))
    except Unsupported as why:
        return "skip", str(why)
    except EngineError as error:
        wanted = case.get("code") or (case.get("error") or {}).get("code")
        if wanted is None:
            return "fail", f"raised {error.code}: {str(error)[:200]}"
        return ("pass" if error.code == wanted else "code"), f"{error.code} for {wanted}"
    if "undefinedResult" in case:
        return ("pass" if result is None else "fail"), f"got {json.dumps(result)[:200]}"
    if "result" in case:
        expected = case["result"]
        if case.get("unordered") and isinstance(result, list) and isinstance(expected, list):
            key = lambda item: json.dumps(item, sort_keys=True)  # noqa: E731
            expected, result = sorted(expected, key=key), sorted(result, key=key)
        return ("pass" if same(expected, result) else "fail"), f"got {json.dumps(result)[:200]}"
    return "fail", f"no error raised, got {json.dumps(result)[:200]}"


def child(arguments: argparse.Namespace) -> None:
    """Run the cases from `--start` on, one line per case on stdout."""
    sys.setrecursionlimit(10_000)
    from jsonata_engines import ENGINES, UNDEFINED

    factory = ENGINES[arguments.engine]
    engine = factory(arguments.jsonata_js) if arguments.engine == "jsonata-js" else factory()
    for index, case in enumerate(load_cases(Path(arguments.suite))):
        if index < arguments.start:
            continue
        verdict, detail = judge(case, engine, UNDEFINED)
        print(f"@@\t{index}\t{verdict}\t{detail}".replace("\n", " "), flush=True)


def run_engine(arguments: argparse.Namespace, total: int) -> dict[int, tuple[str, str]]:
    """Every case's verdict, restarting the child past any case that hangs or kills it."""
    verdicts: dict[int, tuple[str, str]] = {}
    start = 0
    while start < total:
        command = [sys.executable, __file__, *sys.argv[1:], "--child", "--start", str(start)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert process.stdout is not None
        last = start - 1
        while True:
            ready, _, _ = select.select([process.stdout], [], [], CASE_TIMEOUT_S)
            if not ready:
                process.kill()
                verdicts[last + 1] = ("fail", f"no answer in {CASE_TIMEOUT_S:.0f} s")
                break
            line = process.stdout.readline()
            if not line:
                if last + 1 < total:
                    verdicts[last + 1] = ("fail", "the engine crashed its process")
                break
            if not line.startswith("@@\t"):
                continue  # something the engine printed
            _mark, index, verdict, detail = line.rstrip("\n").split("\t", 3)
            verdicts[int(index)] = (verdict, detail)
            last = int(index)
        process.wait()
        start = max(verdicts, default=-1) + 1
    return verdicts


def export(cases: list[dict[str, Any]], both: list[str], out: str) -> None:
    """Write the cases every `--passing` file in `both` lists, whose input is an object (as
    Weft's contexts are) and that take no bindings or limits: expression, input and whether the
    suite expects an error. The datasets they use are written once, by name."""
    passed = set.intersection(*(set(json.loads(Path(name).read_text())) for name in both))
    datasets: dict[str, Any] = {}
    chosen = []
    for case in cases:
        usable = isinstance(case.get("input"), dict) and not case.get("bindings")
        if case["id"] not in passed or not usable or "timelimit" in case:
            continue
        entry = {"id": case["id"], "expr": case["expr"], "error": "result" not in case}
        if "data" in case:
            entry["data"] = case["data"]
        else:
            entry["dataset"] = case["dataset"]
            datasets[case["dataset"]] = case["input"]
        chosen.append(entry)
    document = {
        "source": "jsonata-js 2.2.2 test/test-suite (MIT, Copyright IBM Corp. 2016)",
        "datasets": datasets,
        "cases": chosen,
    }
    Path(out).write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"{len(chosen)} cases, {len(datasets)} datasets written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", required=True)
    parser.add_argument("--engine")
    parser.add_argument("--export", help="write the differential test's cases here")
    parser.add_argument("--both", nargs="+", default=[], help="--passing files, for --export")
    parser.add_argument("--jsonata-js", default=os.environ.get("JSONATA_JS", ""))
    parser.add_argument("--failures", help="write the failed cases here")
    parser.add_argument("--passing", help="write the ids of the passed cases here (JSON)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    if arguments.child:
        child(arguments)
        return
    cases = load_cases(Path(arguments.suite))
    if arguments.export:
        export(cases, arguments.both, arguments.export)
        return
    began = time.monotonic()
    verdicts = run_engine(arguments, len(cases))
    counts = {name: 0 for name in ("pass", "code", "fail", "skip")}
    for verdict, _detail in verdicts.values():
        counts[verdict] += 1
    runnable = len(cases) - counts["skip"]
    print(
        f"{arguments.engine}: {counts['pass'] + counts['code']} of {runnable} passed "
        f"({counts['code']} of them with another error code), {counts['fail']} failed, "
        f"{counts['skip']} skipped, of {len(cases)} cases; {time.monotonic() - began:.0f} s"
    )
    if arguments.failures:
        with open(arguments.failures, "w") as out:
            for index, (verdict, detail) in sorted(verdicts.items()):
                if verdict == "fail":
                    out.write(f"{cases[index]['id']}\t{cases[index]['expr']!r}\t{detail}\n")
    if arguments.passing:
        passed = [
            cases[i]["id"] for i, (v, _d) in sorted(verdicts.items()) if v in ("pass", "code")
        ]
        Path(arguments.passing).write_text(json.dumps(passed, indent=0))


if __name__ == "__main__":
    main()
