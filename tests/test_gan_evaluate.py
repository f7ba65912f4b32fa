"""Ring metrics and the discontinuity probe of study 8757."""

from __future__ import annotations

import torch

from kexue_repro.gan import data
from kexue_repro.gan.evaluate import discontinuity, energy_distance, probe_points, ring_metrics
from kexue_repro.gan.model import Critic

SCALES = (1e-2, 1e-3, 1e-4, 1e-5)


def test_ring_metrics_real_samples_against_a_collapsed_generator():
    rng = torch.Generator().manual_seed(0)
    real = data.sample_ring(2000, 8, 2.0, 0.02, rng)
    other = data.sample_ring(2000, 8, 2.0, 0.02, rng)
    centers = data.ring_centers(8, 2.0)
    good = ring_metrics(other, real, centers, 0.02, 0.02)
    assert good["modes_covered"] == 8
    assert good["high_quality_share"] >= 0.99
    assert abs(good["energy_distance"]) < 0.01
    collapsed = centers[3] + 0.02 * torch.randn(2000, 2, generator=rng)
    bad = ring_metrics(collapsed, real, centers, 0.02, 0.02)
    assert bad["modes_covered"] == 1
    assert bad["energy_distance"] > 0.5


def test_energy_distance_of_shifted_gaussians():
    rng = torch.Generator().manual_seed(0)
    x = torch.randn(1500, 1, generator=rng, dtype=torch.float64)
    y = torch.randn(1500, 1, generator=rng, dtype=torch.float64) + 3
    # X - Y ~ N(-3, 2): E|X-Y| = 3.017 (folded normal); E|X-X'| = E|Y-Y'| = 2/sqrt(pi): 6.034 - 2.257 = 3.777
    assert 3.65 < energy_distance(x, y) < 3.9


def test_a_linear_critic_never_breaks_the_lipschitz_bound_but_gn_on_a_relu_critic_does():
    rng = torch.Generator().manual_seed(0)
    anchors = 2 * torch.randn(20000, 2, generator=rng)
    torch.manual_seed(0)
    linear = Critic(2, hidden=1, depth=1)
    linear.net[1] = torch.nn.Identity()  # D(x) = w2 (W1 x + b1) + b2: exactly linear
    for method in ("gn", "ns", "su"):
        rows = discontinuity(linear, method, 1e-8, anchors, SCALES, rng)
        assert all(r["share_above_1"] == 0 for r in rows), method
    torch.manual_seed(1)
    relu = Critic(2, hidden=32, depth=2)
    rows = discontinuity(relu, "gn", 1e-8, anchors, SCALES, rng)
    assert max(r["share_above_1"] for r in rows) > 0
    assert max(r["worst_ratio"] for r in rows) > 1
    probes = probe_points(relu.double(), "gn", 1e-8, {"real": anchors[:500].double()})
    assert probes["real"]["grad_norm"]["max"] <= 1 + 1e-9
    assert probes["real"]["abs_value"]["max"] <= 1
