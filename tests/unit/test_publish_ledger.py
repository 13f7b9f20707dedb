"""Three failed periods suspend; the first confirmed activation restores; one period, one count."""

from prep_iac.onhost.publisher.ledger import Ledger


def test_three_periods_suspend_and_return(tmp_path):
    led = Ledger(tmp_path / "l.sqlite", period_s=10)
    assert led.record("d1", "activated", cut="A", now=100).reactivated is False
    c1 = led.record("d1", "failed", reason="timeout", now=110)
    assert c1.first_failure and not c1.suspended
    assert not led.record("d1", "failed", reason="timeout", now=114).first_failure  # same period
    assert led.rows(["d1"])[0].failures == 1
    assert not led.record("d1", "refused", reason="bad signature", now=120).suspended
    c3 = led.record("d1", "failed", reason="timeout", now=130)
    assert c3.suspended and led.state("d1") == "suspended"
    assert not led.record("d1", "failed", now=140).suspended  # already suspended: once
    back = led.record("d1", "activated", cut="B", now=150)
    assert back.reactivated and led.state("d1") == "active"
    row = led.rows(["d1"])[0]
    assert row.failures == 0 and row.confirmed_cut == "B"
    assert led.state("other") == "active"
    assert len(led.history("d1")) == 6  # one row per period
