"""Point params.yaml at the latest prices for the scheduled retraining, when its price source is live.

With a live data.source (yahoo, stooq, alphavantage) it sets data.end: null and data.refresh: [prices],
keeping the file's comments, and prints `live=true`; with sample or csv there are no newer prices to
fetch, so it changes nothing and prints `live=false`. .github/workflows/retrain.yml appends that line
to $GITHUB_OUTPUT. Run from the repository root: `python scripts/retrain_params.py [params.yaml]`.
"""

import argparse
import io
import logging
import sys
from pathlib import Path

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq

# As in scripts/pr_report.py: the stockpipe package lives in src/ and is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from stockpipe.adapters.io import atomic_path, run_stage  # noqa: E402
from stockpipe.params import LIVE_PRICE_SOURCES, load_params, parse_params  # noqa: E402

log = logging.getLogger("retrain_params")


def round_trip_yaml() -> YAML:
    """A YAML reader and writer that keeps comments, layout and `null` as written in params.yaml."""
    handler = YAML()
    handler.width = 4096
    handler.indent(mapping=2, sequence=4, offset=2)
    handler.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null"))
    return handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("params", nargs="?", default="params.yaml")
    args = parser.parse_args()
    path = Path(args.params)
    data = load_params(path).data
    if data.source not in LIVE_PRICE_SOURCES:
        log.info("data.source is %r: no newer prices to fetch, %s left as it is", data.source, path)
        print("live=false")
        return
    if data.end is None and "prices" in data.refresh:
        log.info("%s already asks %s for the latest session", path, data.source)
        print("live=true")
        return
    handler = round_trip_yaml()
    document = handler.load(path.read_text(encoding="utf-8"))
    refresh = CommentedSeq(["prices"])
    refresh.fa.set_flow_style()
    section = document["data"]
    section["end"] = None
    if "refresh" in section:
        section["refresh"] = refresh
    else:
        # Beside `end` rather than last: a blank line after the section belongs to its last key.
        section.insert(list(section).index("end") + 1, "refresh", refresh)
    buffer = io.StringIO()
    handler.dump(document, buffer)
    parse_params(yaml.safe_load(buffer.getvalue()), str(path))
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
    log.info("%s: data.end %s -> null, data.refresh -> [prices]: %s %s up to the latest session", path,
             data.end, data.source, "every ticker" if data.tickers == "all" else ", ".join(data.tickers))
    print("live=true")


if __name__ == "__main__":
    run_stage(main)
