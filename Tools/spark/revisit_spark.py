"""Revisit on Apache Spark: score a partitioned dataset partition by partition (Docs/ScaleOut.md).

The per-customer work runs in the Spark executors, one task per dataset partition, each running
Revisit's own `scorer` binary (shipped with SparkContext.addFile) on its partition:

    1. executors: scorer population --dataset PARTS --partition K --observations  (per partition)
       driver:    scorer population --dataset PARTS --from-observations … --out population.json
                  (the population-level BG/NBD fit a partition cannot make alone, from at most
                  20,000 sampled customers' (x, tx, T) per date)
    2. executors: scorer --dataset PARTS/part-K --as-of DATE --partial --population population.json
                  per partition and fold, the partial scores saved with saveAsTextFile
    3. driver:    scorer merge partial/part-* --top-per-rep K --out lists.csv
                  (ranks and reasons over every partition: the single-machine lists, byte for byte)

The executors read the partition directories by path, so PARTS must be on a file system every
executor sees (local mode, NFS, a mounted object store such as /dbfs or s3fs); each executor
checks its partition's files against their SHA-256 before it scores. This module holds the
logic; score.py is the command line.
"""

import json
import os
import resource
import shutil
import subprocess
import tempfile
import time

PARTITIONED_FORMAT = "revisit-partitioned-dataset"
PARTITIONED_VERSION = 1


def customer_hash(customer_id: str) -> int:
    """FNV-1a 64 of the id's UTF-8 bytes, then MurmurHash3's fmix64 (CustomerPartitioning.hash)."""
    mask = (1 << 64) - 1
    h = 0xCBF29CE484222325
    for byte in customer_id.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & mask
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & mask
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & mask
    h ^= h >> 33
    return h


def partition_of(customer_id: str, count: int) -> int:
    """The partition (0 ..< count) `importer partition` puts the customer in."""
    return customer_hash(customer_id) % count


class SparkScoringError(Exception):
    """A step that failed, with the tool's own message."""


def read_partitioned_manifest(dataset: str) -> dict:
    path = os.path.join(dataset, "manifest.json")
    try:
        with open(path, "rb") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as error:
        raise SparkScoringError(f"{path}: cannot be read as JSON ({error}); run `importer partition` first")
    if manifest.get("format") != PARTITIONED_FORMAT or manifest.get("format_version") != PARTITIONED_VERSION:
        raise SparkScoringError(
            f"{path}: format {manifest.get('format')} version {manifest.get('format_version')}; "
            f"this driver reads {PARTITIONED_FORMAT} version {PARTITIONED_VERSION} "
            "(split a dataset with `importer partition --dataset DIR --partitions N --out PARTS`)")
    return manifest


def run_tool(arguments: list, peaks: dict = None, name: str = None) -> float:
    """Runs a Revisit tool on the driver. Returns the seconds taken; with `peaks`, records the
    tool's peak RSS (bytes) under `name`. A failure raises with the tool's own message."""
    began = time.monotonic()
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SparkScoringError(stderr.strip() or f"{arguments[0]} exited {process.returncode}")
    if peaks is not None:
        peaks[name] = usage.ru_maxrss * 1024  # KiB on Linux
    return time.monotonic() - began


def shipped_scorer(scorer_name: str) -> str:
    """On an executor: the path of the scorer the driver shipped with addFile, made executable
    (addFile does not keep the executable bit everywhere)."""
    from pyspark import SparkFiles

    scorer = SparkFiles.get(scorer_name)
    os.chmod(scorer, 0o755)
    return scorer


def partition_observations(task_input, scorer_name: str, dataset: str, dates: str):
    """The executor side of the population fit: each (index, directory) of this task through
    `scorer population --partition K --observations`; yields (index, observations text)."""
    scorer = shipped_scorer(scorer_name)
    for index, _ in task_input:
        completed = subprocess.run(
            [scorer, "population", "--dataset", dataset, "--as-of", dates, "--partition", str(index),
             "--observations", "--out", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if completed.returncode != 0:
            raise RuntimeError(
                f"scorer population on partition {index}: {completed.stderr.decode('utf-8', 'replace').strip()}")
        yield index, completed.stdout.decode("utf-8")


def score_partitions(task_input, scorer_name: str, folds: list, population_name: str, threads: int):
    """The executor side: each (index, directory) of this task through `scorer --partial`, once per
    (as-of, model file name) fold; yields the partial scores texts and, last, one metrics record."""
    from pyspark import SparkFiles

    scorer = shipped_scorer(scorer_name)
    population = SparkFiles.get(population_name)
    metrics = []
    for index, directory in task_input:
        for as_of, model_name in folds:
            began = time.monotonic()
            completed = subprocess.run(
                [scorer, "--model", SparkFiles.get(model_name), "--dataset", directory, "--as-of", as_of,
                 "--partial", "--population", population, "--threads", str(threads), "--quiet"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if completed.returncode != 0:
                raise RuntimeError(
                    f"scorer on {directory} as of {as_of}: {completed.stderr.decode('utf-8', 'replace').strip()}")
            text = completed.stdout.decode("utf-8")
            rows = text.count("\n") - 1
            metrics.append({"partition": index, "as_of": as_of, "rows": rows,
                            "seconds": time.monotonic() - began})
            # saveAsTextFile writes one element per line; the partial file's own last newline goes.
            yield text[:-1] if text.endswith("\n") else text
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    yield "#metrics " + json.dumps({"tasks": metrics, "peak_child_rss_bytes": peak})


def score(spark, bin_dir: str, dataset: str, folds: list, out: str, top_per_rep=None, all_scores=None,
          work=None, threads: int = 1, partitions=None, log=print) -> dict:
    """Scores the partitioned `dataset` for every (as_of, model path) in `folds` through Spark and
    writes the merged scores to `out`. Returns timings and per-task metrics."""
    manifest = read_partitioned_manifest(dataset)
    count = manifest["partitioning"]["count"]
    selected = list(range(count)) if partitions is None else partitions
    dataset = os.path.abspath(dataset)
    scorer = os.path.join(bin_dir, "scorer")
    if not os.access(scorer, os.X_OK):
        raise SparkScoringError(f"{scorer}: not an executable; build it with `swift build -c release --product scorer`")
    owned = work is None
    work = work or tempfile.mkdtemp(prefix="revisit-spark-")
    os.makedirs(work, exist_ok=True)
    timings, peaks = {}, {}
    try:
        dates = sorted({as_of for as_of, _ in folds})
        sc = spark.sparkContext
        # The executors' Python workers import this module for the tasks' functions.
        sc.addPyFile(os.path.abspath(__file__))
        sc.addFile(scorer)
        every = [(index, None) for index in range(count)]

        # Stage 1: each partition's sampled (x, tx, T) — at most 20,000 customers in all per
        # date, so they come back to the driver — then the population fit from them.
        began = time.monotonic()
        observed = os.path.join(work, "observations")
        shutil.rmtree(observed, ignore_errors=True)
        os.makedirs(observed)
        files = []
        for index, text in (sc.parallelize(every, numSlices=count)
                            .mapPartitions(lambda part: partition_observations(part, "scorer", dataset, ",".join(dates)))
                            .collect()):
            files.append(os.path.join(observed, f"part-{index:05d}.csv"))
            with open(files[-1], "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        population = os.path.join(work, "population.json")
        run_tool([scorer, "population", "--dataset", dataset, "--as-of", ",".join(dates), "--from-observations",
                  *files, "--out", population, "--quiet"], peaks, "population")
        timings["population_seconds"] = time.monotonic() - began
        log(f"spark: population fitted for {', '.join(dates)} from {count} partitions' observations "
            f"({timings['population_seconds']:.2f} s)")
        sc.addFile(population)
        shipped = []
        for as_of, model in folds:
            sc.addFile(os.path.abspath(model))
            shipped.append((as_of, os.path.basename(model)))
        if len({name for _, name in shipped}) != len({model for _, model in folds}):
            raise SparkScoringError("two model files share a file name; give each fold's model its own name")
        tasks = [(index, os.path.join(dataset, manifest["partitions"][index]["directory"])) for index in selected]
        partial = os.path.join(work, "partial")
        shutil.rmtree(partial, ignore_errors=True)  # saveAsTextFile refuses an existing directory
        began = time.monotonic()
        (sc.parallelize(tasks, numSlices=len(tasks))
           .mapPartitions(lambda part: score_partitions(part, "scorer", shipped, "population.json", threads))
           .saveAsTextFile("file://" + partial if "://" not in partial else partial))
        timings["spark_seconds"] = time.monotonic() - began
        log(f"spark: {len(tasks)} partitions × {len(folds)} fold(s) scored ({timings['spark_seconds']:.2f} s)")

        task_metrics, task_peaks, files = [], [], []
        for name in sorted(os.listdir(partial)):
            if not name.startswith("part-"):
                continue
            path = os.path.join(partial, name)
            with open(path, "r", encoding="utf-8", newline="") as handle:
                text = handle.read()
            # The metrics record is the last line of its task's file; the rest is partial scores.
            head, marker, record = text.rpartition("#metrics ")
            if marker:
                info = json.loads(record)
                task_metrics += info["tasks"]
                task_peaks.append(info["peak_child_rss_bytes"])
                with open(path, "w", encoding="utf-8", newline="") as handle:
                    handle.write(head)
            if os.path.getsize(path) > 0:
                files.append(path)
        merge = [scorer, "merge", *files, "--out", out, "--quiet"]
        if top_per_rep is not None:
            merge += ["--top-per-rep", str(top_per_rep)]
        if all_scores is not None:
            merge += ["--all-scores", all_scores]
        timings["merge_seconds"] = run_tool(merge, peaks, "merge")
        log(f"spark: merged into {out} ({timings['merge_seconds']:.2f} s)")
        return {"timings": timings, "tasks": task_metrics, "driver_peak_rss_bytes": peaks,
                "peak_scorer_rss_bytes": max(task_peaks) if task_peaks else None}
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)
