"""``workbench monitor ...`` and ``workbench alerts ...``: labels, windows, checks, alerts.

Exit codes: 2 for input and permission errors; ``monitor check --fail-on-alert`` exits 1 while
an alert fires (for cron jobs and CI).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import click

from ..errors import CheckFailed
from .main import Context, pass_ctx
from .output import RichProgress, plain, plain_table, print_json, print_wide, progress_bar

_WINDOWS = ["hour", "day", "week", "month", "batch"]


def _num(value: Any, fmt: str = ".3f") -> str:
    return "-" if value is None else format(value, fmt)


@click.group()
def monitor() -> None:
    """Watch served models: late labels, windows, policies, alerts, verdicts, canary ramp."""


@monitor.command("labels")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", required=True, help="Column holding the entity key (as logged).")
@click.option("--label", help="Column holding the ground truth (default: the model's target).")
@click.option("--time", "time_column", help="Column saying when each label became known.")
@click.option("--model", help="Model the labels belong to (default: the only one).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def labels(ctx: Context, path: Path, key: str, label, time_column, model, as_json: bool) -> None:
    """Join late ground truth in PATH (CSV or Parquet) to logged predictions by key."""
    report = ctx.ws.import_labels(path, key, label=label, time=time_column, model=model)
    if as_json:
        print_json(report.to_dict())
        return
    what = "nothing new" if not report.changed else f"import {report.import_id}"
    plain(f"{report.rows:,} labels read from {path.name}: {report.added:,} new, "
          f"{report.corrected:,} corrected, {report.unchanged:,} unchanged ({what})")  # fmt: skip
    if report.duplicates_in_file:
        plain(f"  {report.duplicates_in_file:,} repeated keys in the file (the latest counts)")
    coverage = "-" if report.coverage is None else f"{report.coverage:.1%}"
    plain(f"  coverage: {report.labelled_predictions:,} of {report.predictions:,} logged "
          f"predictions labelled ({coverage})")  # fmt: skip
    lags = (report.lag_hours_p50, report.lag_hours_p90, report.lag_hours_max)
    if None not in lags:
        p50, p90, top = (h / 24 for h in lags if h is not None)
        plain(f"  label lag: median {p50:.1f} days, p90 {p90:.1f}, max {top:.1f}")
    if report.unmatched:
        examples = ", ".join(report.unmatched_examples[:5])
        plain(f"  {report.unmatched:,} keys match no logged prediction (e.g. {examples})")


@monitor.command("report")
@click.option("--model", help="Model (default: the only one).")
@click.option("--by", type=click.Choice(_WINDOWS), help="Window size (default: settings).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def report(ctx: Context, model: str | None, by: str | None, as_json: bool) -> None:
    """Each window: volume, quality, drift, performance (realized or estimated), latency."""
    _keep_freed_pages()
    with progress_bar() as progress:
        result = ctx.ws.monitor_report(model, by, progress=progress)
    if as_json:
        print_json(result.to_dict())
        return
    print_report(result)


def _keep_freed_pages() -> None:
    """Let Polars' allocator (jemalloc) keep the pages it frees for 10 s before returning
    them to the system, when Polars is not loaded yet and the user set nothing.

    A report over ten million logged rows frees and allocates gigabytes (a window's copy, then
    the next's); with Polars' own shorter decay those pages went back and were faulted in
    again: 1.4-1.5M page faults and 3.5 s of system CPU in a run, against 1.0-1.1M and 2.6 s
    (peak memory +10%). Only this process is affected; it starts no others.
    """
    import os
    import sys

    if "polars" not in sys.modules:
        os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:10000,muzzy_decay_ms:10000")


def print_report(result: Any) -> None:
    """The windows table: one line per window, role and version."""
    if not result.windows:
        plain("; ".join(result.notes) or "no windows")
        return
    metric = "roc_auc" if any("roc_auc" in w.estimated for w in result.windows) else "rmse"
    table = plain_table("window", "role", "version", "rows", "labelled", "drift", "pred drift",
                        "new cat", "nulls", f"{metric} real", f"{metric} est", "p99 ms",
                        "errors", "breaches", wrap=("breaches",))  # fmt: skip
    for w in result.windows:
        est = (w.estimated.get(metric) or {}).get("value")
        feature, rise = w.max_null_increase
        breaches = result.breaches.get(w.window_key, []) if w.role == "champion" else []
        table.add_row(
            w.window_key, w.role, f"v{w.version}", f"{w.rows:,}", f"{w.labelled:,}",
            _num(w.drift_share, ".2f"), _num(w.prediction_drift), _num(w.new_category_share, ".1%"),
            f"{feature} +{rise:.0%}" if feature else "-", _num(w.realized.get(metric)),
            _num(est), _num(w.latency_p99_ms, ".1f"), _num(w.error_rate, ".1%"),
            ", ".join(f"{b.policy}:{b.subject}" for b in breaches),
        )  # fmt: skip
    print_wide(table)
    for note in result.notes:
        plain(f"note: {note}")


def _print_check(result: Any) -> None:
    if result.skipped:
        plain(f"skipped: {result.skipped}")
        return
    plain(f"{result.model}: {result.windows} windows, {result.judged} judged now")
    for a in result.fired:
        plain(f"  FIRING  alert {a.id}: {a.title}")
    for a in result.resolved:
        plain(f"  resolved alert {a.id}: {a.title}")
    plain(f"  {result.still_firing} alert(s) firing")
    if result.proposal_id:
        plain(f"  filed retraining proposal: decision {result.proposal_id}")
    elif result.proposal_note:
        plain(f"  no proposal: {result.proposal_note}")
    if result.delivered or result.pending_notifications:
        plain(f"  notifications: {result.delivered} delivered, "
              f"{result.pending_notifications} waiting for retry")  # fmt: skip


@monitor.command("check")
@click.option("--model", help="Model (default: the only one).")
@click.option("--no-deliver", is_flag=True, help="Queue notifications without sending them.")
@click.option("--fail-on-alert", is_flag=True, help="Exit 1 while an alert fires.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def check(ctx: Context, model, no_deliver: bool, fail_on_alert: bool, as_json: bool) -> None:
    """Judge new windows, raise and resolve alerts, file a retraining proposal if due."""
    with RichProgress() as progress:
        result = ctx.ws.monitor_check(model, deliver=not no_deliver, progress=progress)
    if as_json:
        print_json(result.to_dict())
    else:
        _print_check(result)
    if fail_on_alert and result.still_firing:
        raise CheckFailed(f"{result.still_firing} alert(s) firing for {result.model}")


# How often a waiting `monitor watch` looks at its stop flag.
_WATCH_STEP = 0.25


@monitor.command("watch")
@click.option("--every", help="Period: 30s, 10m, 1h, 1d (default: [monitoring] schedule).")
@click.option("--model", help="Model (default: the only one).")
@pass_ctx
def watch(ctx: Context, every: str | None, model: str | None) -> None:
    """Run `monitor check` on a schedule in the foreground until Ctrl-C or SIGTERM.

    A signal only sets a flag: a check in progress finishes its transaction first. A second
    Ctrl-C stops at once.
    """
    # The handler takes no lock and writes with os.write: a handler runs between two
    # bytecodes of the main thread, which may hold that lock (Event.set from a handler
    # deadlocked when the signal came as the loop entered Event.wait).
    asked: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        if asked:
            raise KeyboardInterrupt
        asked.append(signum)
        os.write(2, b"stopping after the current check (Ctrl-C again to stop now)\n")

    def wait(seconds: float) -> bool:
        """Sleep up to ``seconds`` in short steps; True once a stop was asked."""
        deadline = time.monotonic() + seconds
        while not asked:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, _WATCH_STEP))
        return True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    def on_check(result: Any) -> None:
        _stamp()
        _print_check(result)

    try:
        ticks = ctx.ws.monitor_watch(every, model, wait=wait, on_check=on_check)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    plain(f"stopped after {ticks} check(s)", stderr=True)


def _stamp() -> None:
    from datetime import UTC, datetime

    plain(f"-- {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")


@monitor.command("backtest")
@click.option("--model", help="Model (default: the only one).")
@click.option("--by", type=click.Choice(_WINDOWS), help="Window size (default: settings).")
@click.option("--policy", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Change a policy limit, e.g. drift_share=0.3 or fire_after=2 (repeatable).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def backtest(ctx: Context, model, by, overrides: tuple[str, ...], as_json: bool) -> None:
    """Replay the policies over the logged history: when they fire, how many retrainings."""
    changes = dict(_override(o) for o in overrides)
    with RichProgress() as progress:
        result = ctx.ws.monitor_backtest(model, by, progress, **changes)
    if as_json:
        print_json(result.to_dict())
        return
    table = plain_table("window", "breaches", "fired", "resolved", "retrain",
                        wrap=("breaches", "fired", "resolved"))  # fmt: skip
    for row in result.timeline:
        table.add_row(row["window"], ", ".join(f"{b['policy']}:{b['subject']}"
                                               for b in row["breaches"]) or "-",
                      ", ".join(row["fired"]) or "-", ", ".join(row["resolved"]) or "-",
                      "yes" if row["retrain"] else "")  # fmt: skip
    print_wide(table)
    plain(f"{result.retrainings} retraining proposal(s) would have been filed")


def _override(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r} is not NAME=VALUE", param_hint="--policy")
    lowered = value.strip().lower()
    if lowered in ("none", "off"):
        return name.strip(), None
    try:
        number = float(value)
    except ValueError:
        return name.strip(), value.strip()
    return name.strip(), int(number) if number.is_integer() and "." not in value else number


@monitor.command("verdict")
@click.option("--model", help="Model (default: the only one).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def verdict(ctx: Context, model: str | None, as_json: bool) -> None:
    """Champion against each shadow and canary: agreement, difference, McNemar, rows needed."""
    found = ctx.ws.verdicts(model)
    if as_json:
        print_json([v.to_dict() for v in found])
        return
    if not found:
        plain("no shadow or canary rows logged")
    for v in found:
        plain(f"{v.role}: {v.summary}")
        if v.agreement is not None:
            plain(f"  agreement {v.agreement:.1%} on {v.paired_rows:,} requests both answered")
        if v.mcnemar_p is not None:
            plain(f"  McNemar ({v.mcnemar_test}): p = {v.mcnemar_p:.4g} "
                  f"(only champion right {v.only_champion_right}, only challenger right "
                  f"{v.only_challenger_right})")  # fmt: skip
        for note in v.notes:
            plain(f"  note: {note}")


@monitor.group("canary")
def canary() -> None:
    """The canary ramp: a share of traffic the scoring server sends to a new version."""


def _print_setting(setting: Any) -> None:
    if setting is None:
        plain("no canary")
        return
    v = setting.value or {}
    plain(f"canary {setting.model}@v{v.get('version')}: {v.get('fraction', 0):g}% "
          f"({v.get('state')}, step {v.get('step')}) set by {setting.actor}: {setting.reason}")  # fmt: skip


@canary.command("start")
@click.argument("ref")
@click.option("-m", "--reason", help="Why.")
@pass_ctx
def canary_start(ctx: Context, ref: str, reason: str | None) -> None:
    """Make REF the canary at the ramp's first step (approver role)."""
    _print_setting(ctx.ws.start_canary(ref, reason))


@canary.command("step")
@click.option("--model", help="Model (default: the only one).")
@click.option("--hold", is_flag=True, help="Check the guards without advancing.")
@pass_ctx
def canary_step(ctx: Context, model: str | None, hold: bool) -> None:
    """Check the guards; advance to the next step when they pass on enough rows."""
    result = ctx.ws.canary_step(model, advance=not hold)
    for g in result.guards:
        mark = "PASS" if g["passed"] else "FAIL"
        plain(f"  {mark} {g['guard']}: {g['message']} (limit {g['limit']})")
    plain(result.message)
    if result.action == "aborted":
        raise CheckFailed(result.message)


@canary.command("stop")
@click.option("--model", help="Model (default: the only one).")
@click.option("-m", "--reason", default="stopped by hand", show_default=True, help="Why.")
@pass_ctx
def canary_stop(ctx: Context, model: str | None, reason: str) -> None:
    """Send no more traffic to the canary."""
    _print_setting(ctx.ws.stop_canary(model, reason))


@canary.command("status")
@click.option("--model", help="Model (default: the only one).")
@pass_ctx
def canary_status(ctx: Context, model: str | None) -> None:
    """The canary setting the scoring server follows, and what each running server serves."""
    setting = ctx.ws.deployment(model)
    _print_setting(setting)
    for status in ctx.ws.serving_status():
        if setting is not None and all(m.get("model") != setting.model for m in status.models):
            continue
        c = status.canary
        what = "no canary"
        if c:
            what = (f"canary {c.get('model')}@v{c.get('version')} at {c.get('fraction', 0):.0%} "
                    f"({c.get('source', 'flag')})")  # fmt: skip
        plain(f"  server {status.address} (pid {status.pid}), champion "
              f"{status.roles().get('champion')}: {what}")  # fmt: skip


# -- alerts ------------------------------------------------------------------------------------


@click.group()
def alerts() -> None:
    """Alerts raised by `monitor check`: list, acknowledge, silence, test the channels."""


@alerts.command("list")
@click.option("--status", type=click.Choice(["firing", "resolved"]))
@click.option("--model", help="Only this model's alerts.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def alerts_list(ctx: Context, status: str | None, model: str | None, as_json: bool) -> None:
    """Alerts, newest first."""
    found = ctx.ws.alerts(status, model)
    if as_json:
        print_json(found)
        return
    if not found:
        plain("no alerts")
        return
    table = plain_table("id", "status", "severity", "model", "policy", "subject", "window",
                        "opened", "ack", "message", wrap=("message",))  # fmt: skip
    for a in found:
        state = str(a.status) + (" (silenced)" if a.silenced else "")
        table.add_row(str(a.id), state, a.severity, a.model, a.policy, a.subject,
                      a.window_key or "-", f"{a.opened_at:%Y-%m-%d %H:%M}",
                      a.acknowledged_by or "", a.message)  # fmt: skip
    print_wide(table)


@alerts.command("show")
@click.argument("alert_id")
@pass_ctx
def alerts_show(ctx: Context, alert_id: str) -> None:
    """One alert with its evidence and transitions."""
    a = ctx.ws.alert(alert_id)
    plain(f"alert {a.id}: {a.title} [{a.status}]")
    plain(f"  window {a.window_key}, value {a.value}, limit {a.threshold}")
    for e in ctx.ws.alert_events(a.id):
        plain(f"  {e['at']:%Y-%m-%d %H:%M:%S} {e['kind']} by {e['actor']}")
    command = (a.evidence or {}).get("command")
    if command:
        plain(f"  reproduce: {command}")


@alerts.command("ack")
@click.argument("alert_id")
@click.option("-m", "--comment", help="A note (who is on it, why).")
@pass_ctx
def alerts_ack(ctx: Context, alert_id: str, comment: str | None) -> None:
    """Acknowledge a firing alert."""
    a = ctx.ws.acknowledge_alert(alert_id, comment)
    plain(f"acknowledged alert {a.id}: {a.title}")


@alerts.command("silence")
@click.argument("alert_id", required=False)
@click.option("--model", help="Silence a model's alerts (with --policy, one policy's).")
@click.option("--policy", help="Only this policy.")
@click.option("--for", "duration", default="1d", show_default=True, help="30m, 2h, 1d...")
@click.option("-m", "--comment", help="Why.")
@pass_ctx
def alerts_silence(ctx: Context, alert_id, model, policy, duration: str, comment) -> None:
    """Stop notifications of ALERT_ID's kind (or of a model/policy) for a while."""
    if alert_id is None and model is None:
        raise click.UsageError("give an alert id or --model")
    s = ctx.ws.silence_alerts(alert_id, model=model, policy=policy, duration=duration,
                              comment=comment)  # fmt: skip
    what = " ".join(x for x in (s.model, s.policy, s.subject) if x)
    plain(f"silenced {what} until {s.ends_at:%Y-%m-%d %H:%M} UTC")


@alerts.command("test")
@pass_ctx
def alerts_test(ctx: Context) -> None:
    """Send a test notification on every configured channel now."""
    failed = 0
    for n in ctx.ws.test_notification():
        state = str(n.status) if n.status != "pending" else f"failed, retrying ({n.last_error})"
        failed += n.status != "delivered"
        plain(f"{n.channel}: {state} ({n.event_id})")
    if failed:
        raise CheckFailed(f"{failed} channel(s) did not take the test message")


@alerts.command("deliver")
@pass_ctx
def alerts_deliver(ctx: Context) -> None:
    """Send the notifications that are due now (retries included)."""
    sent = ctx.ws.deliver_notifications()
    waiting = len(ctx.ws.notifications("pending"))
    plain(f"{sent} delivered, {waiting} waiting")
