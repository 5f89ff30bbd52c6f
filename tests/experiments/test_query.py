"""The filter language: parsing, resolution, SQL shape, and hostile input."""

from __future__ import annotations

import pytest

from workbench.errors import InputError
from workbench.experiments import Fields, compile_filter, compile_sort

FIELDS = Fields(metrics={"auc", "logloss"}, params={"num_leaves", "boosting"}, tags={"owner"})


def test_compiles_to_parameters_only():
    sql, params = compile_filter("auc > 0.8 and num_leaves = 31 and snapshot = churn@v2", FIELDS)
    assert "churn" not in sql and "0.8" not in sql and "num_leaves" not in sql and "auc" not in sql
    assert "r.m0 > ?" in sql and "r.n1 = ?" in sql  # slots: sorted position without a store
    assert params == [0.8, 31, "churn@v2", "churn@v2"]


def test_precedence_parentheses_not():
    sql, params = compile_filter(
        "not (status = failed or status = 'cancelled') and tag.owner = \"ana b\"", FIELDS
    )
    assert sql.startswith("((not (coalesce(r.status = ?")
    assert params == ["failed", "cancelled", "ana b"]
    sql, _ = compile_filter("auc > 1 or auc < 0 and logloss <= 2", FIELDS)
    assert sql.startswith("(coalesce(r.m0 > ?") and " or (" in sql


def test_param_text_vs_number_and_operators():
    sql, params = compile_filter("boosting != gbdt and num_leaves >= 1e1", FIELDS)
    assert "r.p0 <> ?" in sql and "r.n1 >= ?" in sql
    assert params == ["gbdt", 10]


def test_slots_come_from_the_store_mapping():
    fields = Fields()
    fields.add("metric", "auc", 7)
    fields.add("param", "num_leaves", 3)
    sql, params = compile_filter("auc > 0.5 and num_leaves = 31", fields)
    assert sql == "(coalesce(r.m7 > ?, false) and coalesce(r.n3 = ?, false))"
    assert params == [0.5, 31]
    assert fields.column("param", "num_leaves") == "r.p3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("aucc > 0.8", "unknown field 'aucc'"),
        ("auc >", "expected a value"),
        ("auc 0.8", "expected a comparison operator"),
        ("(auc > 0.8", r"expected '\)'"),
        ("auc > 0.8)", "expected 'and', 'or' or the end"),
        ("auc > high", "compares with a number"),
        ("tag.nobody = x", "unknown tag"),
        ("snapshot > a", "snapshot compares with = or != only"),
        ("id = 'x'", "compares with a number"),
        ("auc ! 3", "unexpected character"),
        ("created_at > yesterday", "needs a date"),
        ("(" * 60 + "auc > 1" + ")" * 60, "nests deeper"),
    ],
)
def test_errors_are_one_line(text, message):
    with pytest.raises(InputError, match=message) as info:
        compile_filter(text, FIELDS)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "auc > 0; drop table runs",
        "auc > 0 -- comment",
        "auc > 0 /* x */",
        "note = x' or '1'='1",
        "runs.id = 1",
        "auc) or (1=1",
        "drop table runs",
    ],
)
def test_injection_attempts_are_rejected(text):
    with pytest.raises(InputError):
        compile_filter(text, FIELDS)


def test_quoted_hostile_values_are_bound():
    sql, params = compile_filter("note = 'x''; drop table runs; --'", FIELDS)
    assert sql == "coalesce(r.note = ?, false)"
    assert params == ["x'; drop table runs; --"]


def test_sort():
    sql, params = compile_sort("-auc, num_leaves, id", FIELDS)
    assert sql == (
        "r.m0 desc nulls last, r.n1 asc nulls last, r.p1 asc nulls last, r.id asc nulls last"
    )
    assert params == []
    with pytest.raises(InputError, match="unknown field"):
        compile_sort("-aucc", FIELDS)
    with pytest.raises(InputError):
        compile_sort("auc; drop table runs", FIELDS)
