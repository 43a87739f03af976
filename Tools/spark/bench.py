#!/usr/bin/env python3
"""`make bench-spark`: Revisit on a generated dataset through Spark in local mode beside the scorer
alone, in one run (Docs/ScaleOut.md, "Measured").

  python Tools/spark/bench.py --bin .build/release --work .bench-data/spark \
      [--customers 1000000] [--reps 9999] [--weeks 39] [--partitions 16] [--master local[2]]

Steps, each timed, with the peak RSS of the tool that ran it: synth → importer → importer
partition → trainer on one partition (a 1/N sample) → scorer on the whole dataset (one process)
→ score.py (population fit, one Spark task per partition, merge). Checks that both lists are the
same bytes, and prints rows/s and memory per step as one table and as JSON (--json FILE).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import revisit_spark  # noqa: E402


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=9_999)
    parser.add_argument("--weeks", type=int, default=39)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--json", help="write the figures here")
    arguments = parser.parse_args(argv)
    binary = lambda tool: os.path.join(arguments.bin, tool)  # noqa: E731
    work = os.path.abspath(arguments.work)
    os.makedirs(work, exist_ok=True)
    export, data, parts = (os.path.join(work, name) for name in ("export", "data", "parts"))
    model = os.path.join(work, "model.safetensors")
    figures = {"customers": arguments.customers, "partitions": arguments.partitions, "master": arguments.master,
               "cpu": cpu_name(), "steps": {}}

    def step(name, command, rows=None):
        peaks = {}
        try:
            seconds = revisit_spark.run_tool(command, peaks, name)
        except revisit_spark.SparkScoringError as error:
            sys.exit(f"bench.py: {name} failed: {error}")
        peak = peaks[name]
        figures["steps"][name] = {"seconds": seconds, "peak_rss_bytes": peak, "rows": rows}
        print(f"bench-spark: {name}: {seconds:.1f} s, peak RSS {peak / 2**20:.0f} MiB", file=sys.stderr)

    if not os.path.exists(os.path.join(export, "visits.csv")):
        step("synth", [binary("synth"), "--out", export, "--customers", str(arguments.customers), "--reps",
                       str(arguments.reps), "--weeks", str(arguments.weeks), "--seed", "7", "--no-xml", "--quiet"])
    step("import", [binary("importer"), os.path.join(export, "visits.csv"), "--customers",
                    os.path.join(export, "customers.csv"), "--out", data, "--quiet"])
    with open(os.path.join(data, "manifest.json")) as handle:
        manifest = json.load(handle)
    visits = manifest["visit_counts"]["accepted"]
    figures["visits"] = visits
    figures["steps"]["import"]["rows"] = visits
    step("partition", [binary("importer"), "partition", "--dataset", data, "--partitions",
                       str(arguments.partitions), "--out", parts, "--quiet"], rows=visits)
    last = manifest["last_date"]
    step("train on partition 0", [binary("trainer"), parts, "--sample-partitions", "0", "--out", model,
                                  "--epochs", "2", "--training-weeks", "8", "--validation-dates", "2", "--quiet"])
    import datetime
    as_of = (datetime.date.fromisoformat(last) + datetime.timedelta(days=1)).isoformat()
    lists_single, lists_spark = os.path.join(work, "lists-single.csv"), os.path.join(work, "lists-spark.csv")
    step("scorer alone", [binary("scorer"), "--model", model, "--dataset", parts, "--as-of", as_of,
                          "--top-per-rep", "20", "--out", lists_single, "--quiet"])

    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master(arguments.master).appName("revisit-bench")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    began = time.monotonic()
    try:
        result = revisit_spark.score(spark, arguments.bin, parts, [(as_of, model)], lists_spark, top_per_rep=20,
                                     work=os.path.join(work, "spark-work"),
                                     log=lambda line: print(line, file=sys.stderr))
        figures["jvm_peak_rss_bytes"] = jvm_peak_rss()
    finally:
        spark.stop()
    seconds = time.monotonic() - began
    figures["steps"]["spark (population + tasks + merge)"] = {
        "seconds": seconds, "peak_rss_bytes": result["peak_scorer_rss_bytes"], "rows": None}
    figures["spark"] = result
    same = open(lists_single, "rb").read() == open(lists_spark, "rb").read()
    figures["lists_identical"] = same
    candidates = sum(task["rows"] for task in result["tasks"])
    figures["candidates"] = candidates
    for name in ("scorer alone", "spark (population + tasks + merge)"):
        figures["steps"][name]["rows"] = candidates

    print(f"\n{arguments.customers:,} customers, {visits:,} visits, {arguments.partitions} partitions, "
          f"Spark {arguments.master}, CPU: {figures['cpu']}")
    print(f"{'step':40} {'seconds':>9} {'rows/s':>11} {'peak RSS MiB':>13}")
    for name, info in figures["steps"].items():
        rate = f"{info['rows'] / info['seconds']:,.0f}" if info["rows"] else ""
        peak = f"{info['peak_rss_bytes'] / 2**20:,.0f}" if info["peak_rss_bytes"] else ""
        print(f"{name:40} {info['seconds']:9.1f} {rate:>11} {peak:>13}")
    tasks = result["tasks"]
    per_task = [task["seconds"] for task in tasks]
    print(f"Spark tasks: {len(tasks)}, {min(per_task):.1f}–{max(per_task):.1f} s each "
          f"({sum(t['rows'] for t in tasks) / sum(per_task):,.0f} candidates/s per task); "
          f"population {result['timings']['population_seconds']:.1f} s, "
          f"stage {result['timings']['spark_seconds']:.1f} s, merge {result['timings']['merge_seconds']:.1f} s")
    if figures.get("jvm_peak_rss_bytes"):
        print(f"Spark JVM (local mode: driver and executors in one process) peak RSS "
              f"{figures['jvm_peak_rss_bytes'] / 2**20:,.0f} MiB")
    driver = result.get("driver_peak_rss_bytes", {})
    print("driver peak RSS: " + ", ".join(f"{name} {peak / 2**20:,.0f} MiB" for name, peak in driver.items()))
    print(f"lists identical (Spark vs scorer alone): {same}")
    if arguments.json:
        with open(arguments.json, "w") as handle:
            json.dump(figures, handle, indent=1)
    return 0 if same else 1


def jvm_peak_rss():
    """VmHWM of the Java process pyspark started (a child of this process), in bytes."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                status = dict(line.split(":", 1) for line in handle if ":" in line)
        except OSError:
            continue
        if status.get("Name", "").strip() == "java" and int(status.get("PPid", "0")) == os.getpid():
            return int(status["VmHWM"].split()[0]) * 1024
    return None


def cpu_name():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
