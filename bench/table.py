# SPDX-License-Identifier: BSD-3-Clause
"""Print one benchmark table from the samples file bench/lib.sh writes.

    table.py SAMPLES GROUP TITLE UNIT [A/B ...] --runs N --warmup W

SAMPLES holds "group<TAB>variant<TAB>value" lines.  The table lists each
variant of GROUP (in the order first seen) with the median, min and max of
its samples, then for each pair A/B the ratio of the medians and their
difference.  Only the standard library: it runs with Debian's python3.
"""

import argparse
import statistics
import sys


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("samples")
    parser.add_argument("group")
    parser.add_argument("title")
    parser.add_argument("unit")
    parser.add_argument("pairs", nargs="*")
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    return parser.parse_args(argv)


def read_group(path, group):
    """{variant: [values]} of `group`, variants in the order first seen."""
    values = {}
    with open(path) as samples:
        for line in samples:
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3 or fields[0] != group:
                continue
            values.setdefault(fields[1], []).append(float(fields[2]))
    return values


def pair_line(values, pair):
    first, _, second = pair.partition("/")
    if first not in values or second not in values:
        sys.exit("table.py: pair {!r}: expected two variants of {}".format(
            pair, ", ".join(values)))
    a = statistics.median(values[first])
    b = statistics.median(values[second])
    ratio = "{:.3f}".format(a / b) if b else "n/a"
    return "  {:<34} {:>8}   (difference {:+.3f})".format(
        pair + " (median)", ratio, a - b)


def main(argv):
    args = parse_args(argv)
    values = read_group(args.samples, args.group)
    if not values:
        sys.exit("table.py: no samples for {}".format(args.group))
    print()
    print("{}  [{} counted runs after {} warm-up, interleaved]".format(
        args.title, args.runs, args.warmup))
    print("  {:<24} {:>10} {:>10} {:>10} {:>8}".format(
        "variant (" + args.unit + ")", "median", "min", "max", "samples"))
    for variant, samples in values.items():
        print("  {:<24} {:>10.3f} {:>10.3f} {:>10.3f} {:>8}".format(
            variant, statistics.median(samples), min(samples), max(samples),
            len(samples)))
    for pair in args.pairs:
        print(pair_line(values, pair))


if __name__ == "__main__":
    main(sys.argv[1:])
