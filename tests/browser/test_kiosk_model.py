"""The shared condition and validation cases (tests/questionnaires/model_cases.json) against the kiosk's
model.js, in Chromium: the same cases tests/questionnaires/test_model_cases.py runs against the server.

Each case's questionnaire reaches the kiosk as the API gives it (Definition.api()). For each, the kiosk
drops the answers of hidden items and lists the visible ones, builds the payload, and names the problems
of what it would send (the server's verdict, answerProblems), of the answers as given, and of every
visible screen (the check that holds Next and Submit back)."""

import json

import pytest

from tests.questionnaires.model_cases import CASES

pytestmark = pytest.mark.browser

RUN_CASES = """async (casesJson) => {
  const m = await import("/static/kiosk/model.js");
  const results = JSON.parse(casesJson).map((c) => {
    const model = m.buildModel({ round: { id: 1 }, questionnaire: c.questionnaire });
    const held = JSON.parse(JSON.stringify(c.answers));
    m.pruneHidden(model, held);
    const session = m.newSession(model, "2026-12-01T08:00:00.000Z");
    Object.assign(session.answers, held);
    const screens = {};
    for (const screen of session.screens) {
      if (!m.screenVisible(session, screen)) continue;
      for (const p of m.screenProblems(session, screen)) screens[p.code] = p.problem;
    }
    session.id = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    const payload = m.buildPayload(session, "vi", "2026-12-01T08:05:00.000Z");
    return {
      visible: m.visibleItems(model, held),
      sent: payload.answers,
      errors: m.answerProblems(model, payload.answers),
      refused: m.answerProblems(model, c.answers),
      screens,
    };
  });
  return JSON.stringify(results);  // escapes half surrogate pairs, which the page's channel would not keep
}"""


@pytest.fixture(scope="module")
def kiosk_results(chromium, live_server):
    page = chromium.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.goto(f"{live_server.url}/static/kiosk/model.js")
    sent = json.dumps([{"questionnaire": case.definition.api(), "answers": case.answers} for case in CASES])
    results = json.loads(page.evaluate(RUN_CASES, sent))
    page.close()
    assert errors == []
    return dict(zip([case.name for case in CASES], results, strict=True))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_kiosk_model_decides_each_case_as_the_server_does(kiosk_results, case):
    got = kiosk_results[case.name]

    assert got["visible"] == case.visible
    assert got["sent"] == case.sent
    assert got["errors"] == case.errors
    assert got["refused"] == case.refused
    assert got["screens"] == case.errors
