"""What the CAN rules hand each job (kexue_repro.can.plan): every step's settings build its config, a step
gets only what it reads, and a claims or sweep setting that names no apply setting stops the planning."""

from __future__ import annotations

import copy

import pytest
import yaml

from kexue_repro.can import plan
from kexue_repro.can.claims import ClaimsConfig
from kexue_repro.can.evaluate import CanConfig
from kexue_repro.can.sweep import SweepConfig
from kexue_repro.common.settings import build

from conftest import REPO, deep_merge

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
TINY = deep_merge(PARAMS, yaml.safe_load((REPO / "tests/config/tiny.yaml").read_text()))
CONFIGS = {"apply": CanConfig, "sweep": SweepConfig, "claims": ClaimsConfig}


@pytest.mark.parametrize("config", [PARAMS, TINY], ids=["params", "tiny"])
@pytest.mark.parametrize("step", plan.STEPS)
def test_every_steps_settings_build_its_config(config, step):
    built = build(CONFIGS[step], plan.step_block(config, step), f"can.{step}")
    if step == "sweep":
        assert built.base.name == config["can"]["sweep"]["setting"]
        assert list(built.settings) == [built.setting]  # only the setting it tunes around
        assert built.reference_seed == config["can"]["apply"]["reference_seed"]
    if step == "apply":
        assert set(built.settings) == set(config["can"]["apply"]["settings"])


def test_a_number_reaches_only_the_steps_that_read_it():
    def changed(edit) -> set[str]:
        other = copy.deepcopy(PARAMS)
        edit(other["can"])
        return {s for s in plan.STEPS if plan.step_block(other, s) != plan.step_block(PARAMS, s)}

    assert changed(lambda can: can["apply"]["settings"]["official"].update(tau=0.8)) == {"apply"}
    assert changed(lambda can: can["apply"]["settings"]["post"].update(tau=0.8)) == {"apply", "sweep"}
    assert changed(lambda can: can["apply"].update(row_sum_tolerance=1e-5)) == {"apply", "sweep"}
    assert changed(lambda can: can["sweep"].update(split_seed=1)) == {"sweep"}
    assert changed(lambda can: can["claims"].update(confidence=0.9)) == {"claims"}


@pytest.mark.parametrize("step", ["sweep", "claims"])
def test_a_setting_name_that_is_not_an_apply_setting_stops_the_planning(step):
    config = copy.deepcopy(PARAMS)
    config["can"][step]["setting"] = "postt"
    for planned in plan.STEPS:
        with pytest.raises(
            ValueError, match=rf"can\.{step}\.setting': 'postt' is not one of can\.apply\.settings"
        ):
            plan.step_block(config, planned)
