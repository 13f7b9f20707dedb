"""The publisher's per-round limits follow the period (prep_iac.onhost.publisher.service.round_limits)."""

import pytest

from prep_iac.onhost.publisher.service import round_limits


def test_convocatoria_period_keeps_the_plain_defaults():
    assert round_limits(600) == {"connect_timeout": 10.0, "activation_timeout": 120.0,
                                 "deadline_s": 540.0}


@pytest.mark.parametrize("period", [5, 6, 8, 10, 30, 60])
def test_a_host_that_is_down_costs_well_under_one_period(period):
    # Three strikes need three rounds in three periods: a dead host's connect must end
    # inside its round, with time left for the rest of the round.
    limits = round_limits(period)
    assert limits["connect_timeout"] <= period / 2


@pytest.mark.parametrize("period", [5, 6, 10, 600])
def test_a_live_push_gets_its_connect_and_activation_before_the_deadline(period):
    limits = round_limits(period)
    assert limits["deadline_s"] > limits["connect_timeout"] + limits["activation_timeout"]
