"""`autogan export`: the safetensors/JSON pair reloads exactly; ONNX and torch.export agree with PyTorch; bad input is one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from cli_contract import assert_one_line_error

from search_spaces import AUTOGAN_TOP1, Architecture

import autogan
from autogan.cli import main
from autogan.errors import UserError
from autogan.export import VERIFY_TOLERANCE, export_generator, load_exported
from autogan.retrain import generator_from_checkpoint, load_retrain_checkpoint

# What the ONNX file (run by onnxruntime) and the torch.export program must reproduce, images in [-1, 1].
TOLERANCE = 1e-4


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def latents(n: int, dim: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))  # (n, latent)


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


def test_safetensors_and_json_reload_to_identical_outputs(checkpoint, tmp_path, capsys):
    out = tmp_path / "exported"
    code, stdout, err = run_cli(capsys, "export", checkpoint, out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert not leftovers(tmp_path)
    reference = generator_from_checkpoint(load_retrain_checkpoint(checkpoint), weights="ema")
    generator, config = load_exported(out)
    loaded = autogan.load_generator(out)
    z = latents(9, reference.latent_dim)
    with torch.no_grad():
        expected = reference(z)
        assert torch.equal(generator(z), expected)
        assert torch.equal(loaded(z), expected)
    # The file is plain safetensors: any reader gets the EMA weights under the module's own names.
    from safetensors.torch import load_file

    weights = load_file(out / "model.safetensors")
    ema = load_retrain_checkpoint(checkpoint)["generator_ema"]
    assert weights.keys() == ema.keys() and all(torch.equal(weights[k], ema[k]) for k in ema)
    # config.json describes the network, what trained it and its final score, in the features measured.
    assert Architecture.parse(config["architecture"]["canonical"]) == AUTOGAN_TOP1
    assert config["architecture"]["autogan_vector"] == list(AUTOGAN_TOP1.to_autogan_vector())
    assert config["latent"]["dim"] == 32 and config["widths"] == {"channels": 16, "bottom_width": 2}
    assert config["output"] == {"channels": 1, "resolution": 16, "range": [-1.0, 1.0], "layout": "NCHW"}
    assert config["skip_semantics"] == "clean" and config["normalization"]["cells"] == ["none", "none", "none"]
    assert config["trained"]["data"]["dataset"] == "digits" and config["trained"]["recipe"]["g_steps"] == 4
    summary = json.loads((checkpoint.parents[1] / "summary.json").read_text())
    score = config["score"]
    assert score["which"] == "final" and score["g_step"] == 4
    assert score["fid"] == pytest.approx(summary["final"]["fid"]) and score["extractor"] == "digits-classifier"
    assert config["size"]["parameters"] == sum(p.numel() for p in reference.parameters())


def test_spectral_norm_is_folded_into_plain_weights(spectral_checkpoint, tmp_path):
    export_generator(spectral_checkpoint, tmp_path / "sn")
    reference = generator_from_checkpoint(load_retrain_checkpoint(spectral_checkpoint), weights="ema")
    generator, config = load_exported(tmp_path / "sn")
    assert not any("parametrizations" in key for key in generator.state_dict())
    assert config["normalization"]["spectral_norm"] == "folded into the weights"
    z = latents(5, reference.latent_dim)
    with torch.no_grad():
        # In eval mode spectral norm divides by the sigma of its stored vectors: folding does that division once.
        assert torch.equal(generator(z), reference(z))


def test_onnx_and_torch_export_agree_with_pytorch(checkpoint, tmp_path, capsys):
    import onnxruntime

    out = tmp_path / "programs"
    code, stdout, err = run_cli(capsys, "export", checkpoint, out, "--onnx", "--torch-export", "--json")
    assert code == 0, err
    report = json.loads(stdout)
    assert sorted(report["files"]) == ["config.json", "model.onnx", "model.pt2", "model.safetensors"]
    assert 0 <= report["onnx_max_abs_diff"] <= VERIFY_TOLERANCE and 0 <= report["torch_export_max_abs_diff"] <= VERIFY_TOLERANCE
    reference = generator_from_checkpoint(load_retrain_checkpoint(checkpoint), weights="ema")
    session = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    program = torch.export.load(str(out / "model.pt2")).module()
    for batch in (1, 5):  # the batch is dynamic in both programs
        z = latents(batch, reference.latent_dim, seed=batch)
        with torch.no_grad():
            expected = reference(z)
            from_program = program(z)
        from_onnx = torch.from_numpy(session.run(["images"], {"z": z.numpy()})[0])
        assert from_onnx.shape == expected.shape == from_program.shape
        onnx_diff, program_diff = (from_onnx - expected).abs().max().item(), (from_program - expected).abs().max().item()
        print(f"\nbatch {batch}: ONNX max |diff| {onnx_diff:.2e}, torch.export {program_diff:.2e}")
        assert onnx_diff <= TOLERANCE and program_diff <= TOLERANCE


def test_the_text_report_names_each_difference(checkpoint, tmp_path, capsys):
    code, stdout, err = run_cli(capsys, "export", checkpoint, tmp_path / "p", "--torch-export")
    assert code == 0, err
    assert "torch.export: max |difference| from PyTorch" in stdout and "ONNX" not in stdout


@pytest.fixture()
def unwritable(tmp_path) -> Path:
    """A directory nobody may create entries in, also for root (who ignores permission bits)."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        yield locked / "out"
        locked.chmod(0o700)
        return
    target = Path("/sys/autogan-export-test")
    try:
        target.mkdir()
    except OSError:
        yield target / "out"
        return
    target.rmdir()
    pytest.skip("no directory here refuses root's writes")


def bad_inputs(tmp_path: Path, checkpoint: Path, unwritable: Path) -> dict:
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(checkpoint.read_bytes()[:4000])
    search = tmp_path / "search.pt"
    torch.save({"version": 1, "trainer": {}}, search)
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    return {
        "search checkpoint": ([search, tmp_path / "o1"], "looks like a search checkpoint"),
        "damaged checkpoint": ([damaged, tmp_path / "o2"], "corrupt"),
        "missing checkpoint": ([tmp_path / "none.pt", tmp_path / "o3"], "not found"),
        "non-empty OUT_DIR": ([checkpoint, full], "exists and is not empty"),
        "OUT_DIR is a file": ([checkpoint, a_file], "exists and is a file"),
        "OUT_DIR under a file": ([checkpoint, a_file / "out"], "is a file, not a directory"),
        "unwritable OUT_DIR": ([checkpoint, unwritable], "permission"),
    }


CASES = ["search checkpoint", "damaged checkpoint", "missing checkpoint", "non-empty OUT_DIR", "OUT_DIR is a file",
         "OUT_DIR under a file", "unwritable OUT_DIR"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case, checkpoint, tmp_path, unwritable, capsys):
    (source, out), needle = bad_inputs(tmp_path, checkpoint, unwritable)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, err = run_cli(capsys, "export", source, out, "--torch-export")
    line = assert_one_line_error(code, err, "export", out=stdout)
    assert needle.lower() in line.lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing half-written, no temporary left
    if case == "non-empty OUT_DIR":
        assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_a_failure_midway_leaves_nothing(checkpoint, tmp_path, monkeypatch):
    import autogan.export as export

    def broken(*args):
        raise UserError("the exporter failed")

    monkeypatch.setattr(export, "_write_torch_export", broken)
    with pytest.raises(UserError, match="the exporter failed"):
        export_generator(checkpoint, tmp_path / "out", torch_export=True)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_out_dir_is_used(checkpoint, tmp_path):
    (tmp_path / "empty").mkdir()
    export_generator(checkpoint, tmp_path / "empty")
    assert (tmp_path / "empty" / "model.safetensors").is_file()


@pytest.mark.parametrize("damage", ["weights cut short", "config not JSON", "weights of another network"])
def test_a_damaged_export_is_refused_with_one_clear_error(damage, checkpoint, spectral_checkpoint, tmp_path):
    out = tmp_path / "exported"
    export_generator(checkpoint, out)
    if damage == "weights cut short":
        data = (out / "model.safetensors").read_bytes()
        (out / "model.safetensors").write_bytes(data[: len(data) // 2])
        needle = "cannot be read"
    elif damage == "config not JSON":
        (out / "config.json").write_text("{not json")
        needle = "not valid JSON"
    else:
        config = json.loads((out / "config.json").read_text())
        config["generator"]["ch"] = 8
        (out / "config.json").write_text(json.dumps(config))
        needle = "do not fit its config.json"
    with pytest.raises(UserError, match=needle):
        autogan.load_generator(out)


def test_the_readmes_onnx_example_needs_only_onnxruntime(checkpoint, tmp_path):
    """README's ONNX snippet, as written, in a process where importing torch or autogan fails."""
    import re
    import subprocess
    import sys

    export_generator(checkpoint, tmp_path / "exported", onnx=True)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    snippet = re.search(r"<!-- onnx-example: start -->\s*```python\n(.*?)```", readme, re.S).group(1)
    blocker = "import sys\nfor name in ('torch', 'autogan', 'search_spaces'):\n    sys.modules[name] = None\n"
    check = "\nassert images.shape == (16, 1, 16, 16) and -1 <= images.min() and images.max() <= 1\n"
    done = subprocess.run([sys.executable, "-c", blocker + snippet + check], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
