"""The HTTP app through Starlette's TestClient (lifespan included), on a real workspace.

Our ``/predict`` and MLflow's ``/invocations`` formats, health, model and metrics routes, and
bad input: 400, 413, 422 naming the field, 401 without the token; the app answers on after
each. Metrics are read from the app's own registry.
"""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from tests.serving.serving_helpers import FEATURES, NAME, served_demo
from workbench.api import Workspace
from workbench.server.app import create_app


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Workspace:
    return Workspace(served_demo(tmp_path_factory.mktemp("app") / "ws"))


@pytest.fixture(scope="module")
def rows(demo):
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
        for r in demo.load("prod-2025-07").to_dicts()
    ]


def _app(demo, **options):
    def open_session():
        return demo.serving_session(f"{NAME}@champion", shadow=f"{NAME}@challenger",
                                    status=False)  # fmt: skip

    return create_app(open_session, **options)


@pytest.fixture(scope="module")
def client(demo):
    app = _app(demo, max_body=200_000)
    with TestClient(app) as c:
        c.metrics = app.state.metrics.registry
        yield c


def test_predict_one_record_and_a_list(client, demo, rows):
    expected, _ = demo.scorer(f"{NAME}@v1").score_records(rows[:3])
    one = client.post("/predict", json=rows[0])
    assert one.status_code == 200
    body = one.json()
    assert (body["model"], body["version"], body["role"]) == (NAME, 1, "champion")
    assert body["probability"] == expected.probability[0]
    assert one.headers["x-request-id"] == body["request_id"]
    many = client.post("/predict", json=rows[:3]).json()
    assert [p["probability"] for p in many["predictions"]] == list(expected.probability)
    mine = client.post("/predict", json=rows[0], headers={"X-Request-ID": "client-42"})
    assert mine.json()["request_id"] == "client-42"


@pytest.mark.parametrize("fmt", ["dataframe_split", "dataframe_records", "instances", "inputs",
                                 "inputs_columns", "csv"])  # fmt: skip
def test_invocations_takes_mlflows_formats(client, demo, rows, fmt):
    part = rows[:4]
    columns = ["customer_id", *FEATURES]
    if fmt == "dataframe_split":
        body = {"dataframe_split": {"columns": columns,
                                    "data": [[r[c] for c in columns] for r in part]}}  # fmt: skip
    elif fmt == "inputs_columns":
        body = {"inputs": {c: [r[c] for r in part] for c in columns}}
    elif fmt != "csv":
        body = {fmt: part}
    if fmt == "csv":
        text = (
            ",".join(columns) + "\n" + "\n".join(",".join(str(r[c]) for c in columns) for r in part)
        )
        response = client.post("/invocations", content=text,
                               headers={"Content-Type": "text/csv"})  # fmt: skip
    else:
        response = client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    expected, _ = demo.scorer(f"{NAME}@v1").score_records(part)
    assert response.json() == {"predictions": expected.records()}


@pytest.mark.parametrize(
    ("body", "status", "field", "reason"),
    [
        ({"tenure_months": 3}, 422, "monthly_charges", "missing"),
        ("ROW", 422, "tenure_months", "type"),
        ([{"a": 1}, "x"], 400, None, None),
        ({"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}, 400, None, None),
        (17, 400, None, None),
    ],
)
def test_bad_input_is_a_clear_4xx_and_the_server_answers_on(client, rows, body, status, field,
                                                           reason):  # fmt: skip
    endpoint = (
        "/invocations" if isinstance(body, dict) and "dataframe_split" in body else "/predict"
    )
    if body == "ROW":
        body = {**rows[0], "tenure_months": "many"}
    response = client.post(endpoint, json=body)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["error"]
    if field:
        assert (answer["field"], answer["reason"]) == (field, reason)
        assert field in answer["error"]
    assert client.post("/predict", json=rows[0]).status_code == 200


def test_a_list_names_the_record_at_fault(client, rows):
    bad = [dict(r) for r in rows[:5]]
    bad[3]["contract"] = 12
    answer = client.post("/predict", json=bad).json()
    assert (answer["row"], answer["field"], answer["reason"]) == (3, "contract", "type")


def test_not_json_and_too_large_bodies(client, rows):
    assert client.post("/predict", content=b"{not json").status_code == 400
    huge = json.dumps([rows[0]] * 2000).encode()
    response = client.post("/predict", content=huge)
    assert response.status_code == 413 and "200,000 bytes" in response.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(100):
            yield b" " * 4000

    assert client.post("/predict", content=chunks()).status_code == 413
    assert client.post("/predict", json=rows[0]).status_code == 200


def test_health_and_model_say_which_versions_serve_since_when(client):
    health = client.get("/health").json()
    assert health == {"status": "ok", "models": {"champion": f"{NAME}@v1",
                                                 "shadow": f"{NAME}@v2"}}  # fmt: skip
    model = client.get("/model").json()
    roles = {m["role"]: m for m in model["models"]}
    assert roles["champion"]["version"] == 1 and roles["shadow"]["version"] == 2
    assert roles["champion"]["ref"] == f"{NAME}@champion" and roles["champion"]["since"]
    assert model["watching"] == {"champion": f"{NAME}@champion", "shadow": f"{NAME}@challenger"}


def test_metrics_count_requests_errors_and_latency_per_role(client, rows):
    registry = client.metrics
    before = (
        registry.get_sample_value(
            "workbench_request_latency_seconds_count", {"endpoint": "predict", "role": "champion"}
        )
        or 0.0
    )
    bad = registry.get_sample_value(
        "workbench_requests_total", {"endpoint": "predict", "outcome": "invalid_input"}
    )
    client.post("/predict", json=rows[1])
    client.post("/predict", json={"tenure_months": "x"})
    after = registry.get_sample_value(
        "workbench_request_latency_seconds_count", {"endpoint": "predict", "role": "champion"}
    )
    assert after == before + 1
    assert (
        registry.get_sample_value(
            "workbench_requests_total", {"endpoint": "predict", "outcome": "invalid_input"}
        )
        == bad + 1
    )
    text = client.get("/metrics").text
    assert 'workbench_model_version{model="churn-model",role="champion"} 1.0' in text
    assert 'workbench_model_version{model="churn-model",role="shadow"} 2.0' in text
    assert "workbench_prediction_log_queued" in text and "workbench_shadow_scored_total" in text


def test_a_token_guards_every_route_but_health(demo, rows):
    token = "s3cret-token-for-tests"
    with TestClient(_app(demo, token=token)) as c:
        assert c.post("/predict", json=rows[0]).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert c.post("/predict", json=rows[0], headers=wrong).status_code == 401
        right = {"Authorization": f"Bearer {token}"}
        assert c.post("/predict", json=rows[0], headers=right).status_code == 200
        assert c.get("/model").status_code == 401 and c.get("/metrics").status_code == 401
        assert c.get("/health").status_code == 200


def test_the_log_holds_every_answer_once_the_app_has_stopped(demo, rows):
    with TestClient(_app(demo)) as c:
        ids = [c.post("/predict", json=r).json()["request_id"] for r in rows[:20]]
    # the lifespan teardown drained the shadow and closed the log
    logged = demo.predictions(NAME)
    mine = logged.filter(logged["request_id"].is_in(ids))
    assert sorted(mine["role"].to_list()) == ["champion"] * 20 + ["shadow"] * 20
