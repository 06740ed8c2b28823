"""`autogan inspect` text and --json show what the report shows: size at the retrain width, the
retrained scores of ranked architectures, and the per-stage learning table with its verdicts."""

from __future__ import annotations

import json
import shutil

import pytest

from search_spaces import AUTOGAN_TOP1, Architecture

from autogan.cli import main
from autogan.learning import stage_learning
from autogan.nn import generator_cost
from autogan.search import RunDirectory

# configs/retrain_digits.toml's model.ch / latent_dim; digits are one channel.
DIGITS_RETRAIN = {"ch": 32, "latent_dim": 64}


def _inspect(capsys, *argv):
    code = main(["inspect", *map(str, argv)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture()
def retrained_run(tmp_path, synthetic_run):
    """The synthetic run with a retraining of its top-1 that is at G step 200 of 600."""
    run = tmp_path / "run"
    shutil.copytree(synthetic_run, run)
    out = run / "retrain" / "arch-top1"
    out.mkdir(parents=True)
    (out / "arch.json").write_text(json.dumps(AUTOGAN_TOP1.to_dict()))
    (out / "config.toml").write_text('[train]\ng_steps = 600\n\n[eval]\nextractor = "digits-classifier"\n')
    rows = [{"g_step": s, "weights": "ema", "fid": 40.0 - s / 100, "is_mean": 3.0, "samples": 1000} for s in (0, 200)]
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def test_json_gives_each_architecture_its_size_at_the_retrain_width(capsys, synthetic_run):
    data = json.loads(_inspect(capsys, synthetic_run, "--json"))
    assert data["size_width"] == {"preset": "digits", **DIGITS_RETRAIN, "bottom_width": 4, "out_channels": 1}
    for row in data["architectures"]:
        cost = generator_cost(Architecture.parse(row["arch"]), DIGITS_RETRAIN["ch"], DIGITS_RETRAIN["latent_dim"], 4, 1)
        assert row["size"] == {"params": cost.params, "macs": cost.macs, "gmacs": cost.macs / 1e9, "preset": "digits",
                               **DIGITS_RETRAIN}


def test_text_shows_params_and_gmacs_and_names_the_width(capsys, synthetic_run):
    lines = _inspect(capsys, synthetic_run, "--top", 1).splitlines()
    assert "at the retrain width of preset 'digits' (ch 32, latent 64)" in lines[1]
    header, first = lines[2].split(), lines[3]
    assert header[7:9] == ["params", "GMACs"]
    cost = generator_cost(AUTOGAN_TOP1, 32, 64, 4, 1)
    assert first.split()[6:8] == [f"{cost.params / 1e3:.1f}k", f"{cost.macs / 1e9:.3f}"]


def test_json_and_text_show_the_retrained_score_of_a_ranked_architecture(capsys, retrained_run):
    rows = json.loads(_inspect(capsys, retrained_run, "--json"))["architectures"]
    top, others = rows[0], rows[1:]
    assert top["retrained"]["fid"] == 38.0 and top["retrained"]["g_step"] == 200 and not top["retrained"]["finished"]
    assert top["retrained"]["extractor"] == "digits-classifier" and top["retrained"]["samples"] == 1000
    assert all(row["retrained"] is None for row in others)
    text = _inspect(capsys, retrained_run, "--top", 2)
    assert "38.00 / 3.00 (G step 200 of 600)" in text.splitlines()[3]
    assert "retrained rank 1: in progress, at G step 200 of 600: FID 38.00, IS 3.00 so far" in text
    assert "digits-classifier features" in text


def test_json_and_text_carry_the_learning_table_with_a_verdict_per_stage(capsys, synthetic_run):
    record = RunDirectory.open(synthetic_run)
    expected = stage_learning(record.iterations(), record.evaluations())
    data = json.loads(_inspect(capsys, synthetic_run, "--json"))
    assert data["learning"] == [stage.to_dict() for stage in expected]
    assert [stage["verdict"] for stage in data["learning"]] == ["exploring", "learned", "flat"]
    text = _inspect(capsys, synthetic_run)
    for stage in expected:
        assert f"  {stage.describe()}" in text.splitlines()


def test_report_headers_and_table_show_each_architecture_size_and_the_width(synthetic_run):
    from autogan.report import load_run, rank
    from autogan.report._page import render_html

    summary = load_run(synthetic_run)
    ranking, what = rank(summary)
    page = render_html(summary, ranking[:2], what)
    assert "the derived generator at the retrain width of preset &#x27;digits&#x27; (ch 32, latent 64)" in page
    for entry in ranking[:2]:
        cost = generator_cost(entry.arch, 32, 64, 4, 1)
        size = f"{cost.params / 1e3:.1f}k params, {cost.macs / 1e9:.3f} GMACs at ch 32"
        (header,) = [line for line in page.splitlines() if line.startswith(f"<h3>#{entry.rank} ")]
        assert size in header
        assert f'<td class="num">{cost.params / 1e3:.1f}k</td><td class="num">{cost.macs / 1e9:.3f}</td>' in page


def test_report_learning_table_has_a_verdict_column(synthetic_run):
    from autogan.report import load_run, rank
    from autogan.report._page import render_html

    summary = load_run(synthetic_run)
    page = render_html(summary, *rank(summary))
    table = page[page.index("<h3>Did the policy learn?"):]
    table = table[: table.index("</table>")]
    assert "<th>verdict</th>" in table
    assert [row.split("<td>")[-1].split("</td>")[0] for row in table.split("<tr>")[2:]] == ["exploring", "learned", "flat"]
