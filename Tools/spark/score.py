#!/usr/bin/env python3
"""Score a partitioned Revisit dataset on Apache Spark (Docs/ScaleOut.md).

  python Tools/spark/score.py --bin .build/release --dataset parts/ --model model.safetensors \
      --as-of 2020-03-02 --top-per-rep 20 --out lists.csv [--all-scores scores.csv] [--master local[2]]

A backtest's folds, each scored by its own model, into one scores file for `evaluator audit`:

  python Tools/spark/score.py --bin .build/release --dataset parts/ \
      --fold 2020-01-06=fold1.safetensors --fold 2020-01-13=fold2.safetensors --out folds.csv

Under spark-submit the master comes from spark-submit; --master is for a local run. Exit codes:
0 scored, 1 bad usage, 2 a step failed (its message names the file).
"""

import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import revisit_spark  # noqa: E402


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--bin", required=True, help="directory holding the built scorer")
    parser.add_argument("--dataset", required=True, help="partitioned dataset (importer partition)")
    parser.add_argument("--model", help="model file (with --as-of)")
    parser.add_argument("--as-of", help="as-of date YYYY-MM-DD (default: the day after the last record)")
    parser.add_argument("--fold", action="append", default=[], metavar="DATE=MODEL",
                        help="instead of --model/--as-of: one backtest fold (repeatable)")
    parser.add_argument("--top-per-rep", type=int, help="each rep's top K (the call list)")
    parser.add_argument("--all-scores", help="also every candidate's scores (with --top-per-rep)")
    parser.add_argument("--out", required=True, help="the merged scores CSV")
    parser.add_argument("--partitions", help="only these partitions, e.g. 0-3,7 (a trial run)")
    parser.add_argument("--master", default=None, help="Spark master for a local run, e.g. local[2]")
    parser.add_argument("--threads", type=int, default=1, help="scorer threads per task (spark.task.cpus)")
    parser.add_argument("--work", help="keep the population fit and partial scores here")
    parser.add_argument("--metrics", help="write timings and per-task metrics (JSON) here")
    arguments = parser.parse_args(argv)
    if arguments.fold and (arguments.model or arguments.as_of):
        parser.error("give --fold, or --model with --as-of, not both")
    if not arguments.fold and not arguments.model:
        parser.error("give --model (with --as-of) or --fold DATE=MODEL")
    if arguments.all_scores and arguments.top_per_rep is None:
        parser.error("--all-scores goes with --top-per-rep")
    folds = []
    for fold in arguments.fold:
        date, _, model = fold.partition("=")
        if not model or not valid_date(date):
            parser.error(f"--fold must be DATE=MODEL with DATE as YYYY-MM-DD; got '{fold}'")
        folds.append((date, model))
    if arguments.as_of and not valid_date(arguments.as_of):
        parser.error(f"--as-of must be YYYY-MM-DD; got '{arguments.as_of}'")
    arguments.folds = folds
    return arguments


def valid_date(text):
    try:
        datetime.date.fromisoformat(text)
        return len(text) == 10
    except ValueError:
        return False


def parse_partitions(text):
    indices = []
    for piece in text.split(","):
        low, _, high = piece.partition("-")
        indices += range(int(low), int(high or low) + 1)
    return sorted(set(indices))


def main(argv):
    arguments = parse_arguments(argv)
    try:
        manifest = revisit_spark.read_partitioned_manifest(arguments.dataset)
        folds = arguments.folds
        if not folds:
            as_of = arguments.as_of
            if as_of is None:
                last = manifest["source"].get("last_date")
                if last is None:
                    raise revisit_spark.SparkScoringError(f"{arguments.dataset}: the dataset has no visits")
                as_of = (datetime.date.fromisoformat(last) + datetime.timedelta(days=1)).isoformat()
            folds = [(as_of, arguments.model)]
        partitions = parse_partitions(arguments.partitions) if arguments.partitions else None
        from pyspark.sql import SparkSession
        builder = SparkSession.builder.appName("revisit-score").config("spark.ui.showConsoleProgress", "false")
        if arguments.master:
            builder = builder.master(arguments.master)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        try:
            result = revisit_spark.score(
                spark, arguments.bin, arguments.dataset, folds, arguments.out, arguments.top_per_rep,
                arguments.all_scores, arguments.work, arguments.threads, partitions,
                log=lambda line: print(line, file=sys.stderr))
        finally:
            spark.stop()
        if arguments.metrics:
            with open(arguments.metrics, "w") as handle:
                json.dump(result, handle, indent=1)
    except revisit_spark.SparkScoringError as error:
        print(f"score.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
