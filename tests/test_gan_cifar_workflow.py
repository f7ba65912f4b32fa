"""Study 8757's CIFAR-10 rules exist at scale full only, and every file they add is covered by the gan DVC stage."""

from __future__ import annotations

import pytest
import yaml
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

from conftest import REPO


def gan_targets(scale: str) -> set[str]:
    with SnakemakeApi(OutputSettings()) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(config={"scale": scale}),
            snakefile=REPO / "Snakefile",
            workdir=REPO,
        )._workflow
        return {str(f) for f in workflow.get_rule("gan").input}


@pytest.mark.parametrize("scale", ["smoke", "full"])
def test_cifar_outputs_only_at_full_scale_and_inside_the_dvc_stage(scale):
    targets = gan_targets(scale)
    cifar = {t for t in targets if "cifar10" in t}
    if scale == "smoke":
        assert not cifar
        return
    seeds = yaml.safe_load((REPO / "params.yaml").read_text())["gan"]["cifar_runs"]["seeds"]
    for seed in seeds:
        assert {
            f"results/gan/runs/cifar10_gn_seed{seed}.json",
            f"results/gan/models/cifar10_gn_seed{seed}.pt",
        } <= cifar
    assert {"results/gan/evals/cifar10_curve.csv", "results/gan/evals/cifar10_fid_curve.png"} <= cifar
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["gan"]
    dirs = [next(iter(out)) for out in stage["outs"] if isinstance(out, dict)]
    assert all(any(t.startswith(d + "/") for d in dirs) for t in cifar), cifar
    assert "scale" in stage["params"]
