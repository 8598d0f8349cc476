"""Stage summary: every ticker's test errors beside the naive forecast, pooled figures, and the skill spread."""

import argparse
import logging

import pandas as pd

from stockpipe.io import atomic_path, batch_files, read_json_object, run_stage, write_csv, write_json
from stockpipe.params import load_params
from stockpipe.summary import markdown_table, summary

log = logging.getLogger("summary")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("metrics_dir", help="folder of every batch's metrics JSON from evaluate")
    parser.add_argument("--json", required=True)
    parser.add_argument("--markdown", required=True)
    parser.add_argument("--skill", required=True, help="CSV of each ticker's skill, sorted, for `dvc plots`")
    args = parser.parse_args()
    params = load_params()
    metrics, skipped = {}, {}
    for path in batch_files(args.metrics_dir, params.data.batches, ".json"):
        batch = read_json_object(path)
        metrics.update(batch["tickers"])
        skipped.update(batch["skipped"])
    table = summary(metrics, skipped, params.model.scope, params.predict.coverage, params.evaluate.significance)
    write_json(table, args.json)
    with atomic_path(args.markdown) as tmp:
        tmp.write_text(markdown_table(table), encoding="utf-8")
    skills = sorted((row["skill"], ticker) for ticker, row in table["tickers"].items())
    write_csv(pd.DataFrame({"rank": range(1, len(skills) + 1), "ticker": [ticker for _, ticker in skills],
                            "skill": [skill for skill, _ in skills]}), args.skill)
    if table["count"]:
        log.info("%d of %d tickers beat the naive forecast, %d significantly; %d lose to it significantly (median "
                 "skill %+.4f, pooled %s); %d skipped", table["beat_naive"], table["count"],
                 table["significantly_better"], table["significantly_worse"], table["median_skill"],
                 "n/a" if table["pooled_skill"] is None else f"{table['pooled_skill']:+.4f}", len(skipped))
        intervals = table["intervals"]
        log.info("%.0f%% intervals: median coverage %.1f%%, %d of %d series outside +-2 points; median width %.2fx "
                 "the GARCH-t interval's", 100 * intervals["target"], 100 * intervals["median_coverage"],
                 intervals["outside_tolerance"], table["count"], intervals["median_width_vs_garch_t"])


if __name__ == "__main__":
    run_stage(main)
