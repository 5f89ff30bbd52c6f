"""The monitoring service on a small monitored workspace (see ``story.py``): labels, windows,
checks, alerts, retraining proposals, backtest, silences and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from tests.monitoring.story import MONTHS, build, copy, set_clock


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The workspace, built once per module; tests copy it."""
    root = tmp_path_factory.mktemp("monitor") / "story"
    build(root)
    return root


@pytest.fixture
def ws(built, tmp_path):
    return copy(built, tmp_path / "ws")


class Clock:
    """A settable clock for the service (tests never sleep)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_labels_are_idempotent_and_corrections_are_versions(ws):
    path = ws.root / "data" / "labels_2025-07.csv"
    first = ws.import_labels(path, "customer_id")
    assert (first.added, first.corrected, first.unchanged) == (400, 0, 0)
    assert first.coverage == pytest.approx(400 / 2400)
    assert first.unmatched == 0
    again = ws.import_labels(path, "customer_id")
    assert (again.added, again.corrected, again.unchanged, again.import_id) == (0, 0, 400, None)
    frame = pl.read_csv(path)
    flipped = frame.head(3).with_columns(
        pl.when(pl.col("churn") == "Yes").then(pl.lit("No")).otherwise(pl.lit("Yes")).alias("churn")
    )
    unknown = pl.DataFrame({"customer_id": ["NOBODY-1"], "churn": ["Yes"]})
    fix = ws.root / "fix.csv"
    pl.concat([flipped, unknown]).write_csv(fix)
    fixed = ws.import_labels(fix, "customer_id")
    assert (fixed.added, fixed.corrected, fixed.unchanged) == (1, 3, 0)
    assert fixed.unmatched == 1 and fixed.unmatched_examples == ["NOBODY-1"]
    with ws.store.read() as con:
        versions = con.execute(
            "select max(version) from labels where entity_key = ?", [frame["customer_id"][0]]
        ).fetchall()[0][0]
    assert versions == 2
    assert ws.verify().audit == []


def test_label_lag_comes_from_the_time_column(ws):
    path = ws.root / "data" / "labels_2025-08.csv"
    frame = pl.read_csv(path).with_columns(pl.lit("2025-09-30").alias("known_at"))
    frame.write_csv(ws.root / "late.csv")
    report = ws.import_labels(ws.root / "late.csv", "customer_id", time="known_at")
    # August rows were served at noon on their day; the labels came on 30 September.
    assert 30 <= report.lag_hours_p50 / 24 <= 60
    assert report.lag_hours_max / 24 < 61


def test_report_shows_the_planted_faults(ws):
    for month in MONTHS[:3]:
        ws.import_labels(ws.root / "data" / f"labels_{month}.csv", "customer_id")
    report = ws.monitor_report()
    assert report.keys() == list(MONTHS)
    by_key = {w.window_key: w for w in report.champion_windows()}
    july, sept, oct_, dec = (by_key[m] for m in ("2025-07", "2025-09", "2025-10", "2025-12"))
    assert july.rows == 400 and july.labelled == 400 and july.realized["roc_auc"] > 0.75
    assert sept.null_shares["total_charges"] > 0.3  # the broken feed
    assert "monthly_charges" in sept.drifted_features  # reported in cents
    assert oct_.new_categories == {"payment_method": ["Crypto wallet"]}
    assert dec.labelled == 0 and dec.realized["roc_auc"] is None
    est = dec.estimated["roc_auc"]
    assert est["value"] is not None and est["lower_band"] < est["value"] < est["upper_band"]
    policies = {b.policy for b in report.breaches["2025-09"]}
    assert "null_share" in policies
    assert dec.latency_p99_ms == pytest.approx(0.02) and dec.error_rate == 0.0  # as logged
    frame = report.to_polars()
    assert frame.height == 6 and "roc_auc:estimated" in frame.columns


def test_the_estimator_is_stored_once_per_version_and_reused(ws):
    ws.monitor_report()
    with ws.store.read() as con:
        stored = con.execute("select kind, object_hash from monitor_references").fetchall()
    assert {k for k, _ in stored} == {"cbpe", "prediction"}
    again = type(ws)(ws.root)  # a new process's service reads them back
    ref = again.services.references.reference("churn-model", 1)
    assert ref.estimator is not None and ref.holdout["roc_auc"] > 0.7
    with ws.store.read() as con:
        assert con.execute("select count(*) from monitor_references").fetchall()[0][0] == 2


def test_check_fires_once_resolves_and_files_one_proposal(ws):
    set_clock(ws, Clock(datetime(2026, 1, 5, tzinfo=UTC)))
    first = ws.monitor_check()
    assert first.judged == 6
    fired = {(a.policy, a.subject) for a in first.fired}
    assert ("performance", "roc_auc") in fired
    assert first.proposal_id is not None
    decision = ws.decision(first.proposal_id)
    assert decision.kind == "retrain" and decision.status == "pending"
    evidence = decision.evidence.monitoring
    assert evidence["command"].startswith("workbench monitor report")
    assert evidence["firing"] and evidence["windows"][-1]["window"] == "2025-12"
    second = ws.monitor_check()
    assert second.judged == 0 and second.fired == [] and second.proposal_id is None
    assert second.proposal_note == "a retraining proposal is already open"
    assert len([d for d in ws.decisions() if d.kind == "retrain"]) == 1
    # December's labels arrive: realized AUC replaces the estimate in that window only.
    for month in MONTHS:
        ws.import_labels(ws.root / "data" / f"labels_{month}.csv", "customer_id")
    third = ws.monitor_check()
    assert third.judged == 6  # each window's labelled count changed
    firing = {(a.policy, a.subject) for a in ws.alerts("firing")}
    assert ("new_categories", "categories") in firing
    assert ws.verify().audit == []


def test_alerts_resolve_when_the_condition_clears(ws):
    set_clock(ws, Clock(datetime(2026, 1, 5, tzinfo=UTC)))
    ws.monitor_check()
    firing = ws.alerts("firing")
    assert firing
    # A laxer policy: nothing breaches any more.
    (ws.dir / "workbench.toml").write_text(
        (ws.dir / "workbench.toml").read_text()
        + "\n[monitoring]\nperformance_drop = 0.5\nnew_category_share = 0.5\n"
        "null_share_increase = 0.9\ndrift_share = 1.0\n",
        encoding="utf-8",
    )
    relaxed = type(ws)(ws.root)
    set_clock(relaxed, Clock(datetime(2026, 1, 6, tzinfo=UTC)))
    result = relaxed.monitor_check()
    assert {a.id for a in result.resolved} == {a.id for a in firing}
    assert relaxed.alerts("firing") == []
    events = [e["kind"] for e in relaxed.alert_events(firing[0].id)]
    assert events == ["fired", "resolved"]


def test_acknowledge_is_a_guarded_transition(ws):
    set_clock(ws, Clock(datetime(2026, 1, 5, tzinfo=UTC)))
    ws.monitor_check()
    alert = ws.alerts("firing")[0]
    acked = ws.acknowledge_alert(alert.id, "on it")
    assert acked.acknowledged_by == "alice" and acked.ack_comment == "on it"
    from workbench.errors import InputError

    with pytest.raises(InputError, match="already acknowledged"):
        ws.acknowledge_alert(alert.id)
    with ws.store.read() as con:
        actions = [r[0] for r in con.execute("select action from audit_log").fetchall()]
    assert "alert.acknowledged" in actions and "alert.fired" in actions


def test_hysteresis_needs_n_of_m_windows(ws):
    # With 3 of the last 3 windows needed, December's lone performance breach does not fire.
    result = ws.monitor_backtest(fire_after=3, of_last=3)
    fired = [f for row in result.timeline for f in row["fired"]]
    assert "performance:roc_auc" not in fired
    assert "new_categories:categories" in fired  # October, November and December
    plain = ws.monitor_backtest()
    assert any("performance:roc_auc" in row["fired"] for row in plain.timeline)
    assert plain.retrainings >= 1


def test_backtest_counts_retrainings_per_episode(ws):
    result = ws.monitor_backtest(drift_share=0.2)
    starts = [row["window"] for row in result.timeline if row["retrain"]]
    assert result.retrainings == len(starts) >= 1
    assert all(row["retrain"] is False for row in result.timeline[:2])  # July, August quiet


def test_watch_runs_on_ticks_without_sleeping(ws):
    clock = Clock(datetime(2026, 1, 5, 10, 3, tzinfo=UTC))
    set_clock(ws, clock)
    waits = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        clock.now += timedelta(seconds=seconds)
        return len(waits) >= 3

    ticks = ws.monitor_watch("10m", wait=wait)
    assert ticks == 3
    assert waits[0] == pytest.approx(7 * 60)  # to 10:10
    with ws.store.read() as con:
        rows = con.execute("select tick from monitor_checks order by id").fetchall()
    assert [r[0] for r in rows] == [
        "2026-01-05T10:00:00Z",
        "2026-01-05T10:10:00Z",
        "2026-01-05T10:20:00Z",
    ]
    # The same tick again (another watcher, a restart) does nothing.
    again = ws.monitor_check(tick="2026-01-05T10:10:00Z")
    assert again.skipped


def test_silence_stops_notifications_but_not_alerts(ws):
    (ws.dir / "workbench.toml").write_text(
        (ws.dir / "workbench.toml").read_text() + '\n[monitoring]\nfile = "alerts.jsonl"\n',
        encoding="utf-8",
    )
    ws = type(ws)(ws.root)
    set_clock(ws, Clock(datetime(2026, 1, 5, tzinfo=UTC)))
    ws.silence_alerts(model="churn-model", policy="performance", duration="2h", comment="known")
    result = ws.monitor_check()
    assert any(a.policy == "performance" for a in result.fired)
    lines = (ws.root / "alerts.jsonl").read_text().splitlines()
    assert lines and not any('"policy": "performance"' in line for line in lines)
    perf = next(a for a in ws.alerts("firing") if a.policy == "performance")
    assert perf.silenced
    assert "notification.silenced" in [e["kind"] for e in ws.alert_events(perf.id)]
