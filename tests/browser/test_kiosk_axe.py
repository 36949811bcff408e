"""axe-core over every screen of the kiosk, at the two tablet sizes and on a phone: the welcome screen
(in both languages, with larger text, with staff notices and a response waiting), each kind of
question screen (a long and a short single choice, yes / no, a multiple choice, ratings with and
without "not applicable", an optional question answered, a number, a text, the dossier code; with
their error messages), the two dialogs (start over, the idle prompt), thanks, quota full, no survey,
save error, larger text on. No violation of impact serious or critical; the count of screens
checked and of the lesser findings is printed (and kept in test-artifacts/kiosk/axe.txt)."""

import datetime
from collections import Counter

import pytest
from django.test import override_settings

from fieldwork.quotas import quota_set
from fieldwork.services import kiosk_revoke
from tests.browser.axe import ALL, SERIOUS, axe_violations, format_violations
from tests.browser.kiosk import (
    BREAKABLE_STORAGE,
    ENGLISH_VOICE,
    SIZES,
    SKIP,
    VIETNAMESE_VOICE,
    answer_question,
    answer_until,
    current_step,
    fake_speech,
    make_idle_kiosk,
    make_kinds_survey,
    make_survey,
    open_kiosk,
    pair,
    settle,
    tap,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IDLE_SECONDS = 15
REPEAT_MS = 700  # a second tap on one control within 0.6 s is a double tap (static/kiosk/guard.js)
HURRIED = {"E.FIELD": "transport", "E.ONTIME": "on_time", "F5.0": "no", "X.EXPECT": SKIP}


class Screens:
    """Runs axe on each screen as it is shown, keeps what it found, and a screenshot of it."""

    def __init__(self, page, size, shots):
        self.page, self.size, self.shots = page, size, shots
        self.found = {}  # screen → violations of any impact

    def check(self, name):
        settle(self.page)
        assert name not in self.found, name
        self.found[name] = axe_violations(self.page, impacts=ALL)
        self.page.screenshot(path=str(self.shots / f"{self.size}-{len(self.found):02d}-{name.replace(' ', '-')}.png"))

    def serious(self):
        return {name: [v for v in found if v.impact in SERIOUS] for name, found in self.found.items()}

    def lesser(self):
        return Counter(f"{v.rule} ({v.impact})" for found in self.found.values() for v in found
                       if v.impact not in SERIOUS)


def large_text(page, on):
    if (page.get_by_test_id("large-text").get_attribute("aria-pressed") == "true") != on:
        tap(page, page.get_by_test_id("large-text"))


@override_settings(KIOSK_IDLE_SECONDS=IDLE_SECONDS)
@pytest.mark.parametrize("size", SIZES)
def test_no_kiosk_screen_has_a_serious_or_critical_accessibility_violation(chromium, live_server, artifacts,
                                                                          capsys, size):
    survey, kinds, idle_kiosk = make_survey(), make_kinds_survey(), make_idle_kiosk()
    quota_set(survey_round=survey["round"], unit=survey["round"].unit, target=0, stratum_item="E.FIELD",
              stratum_value="land", policy="close")
    shots = artifacts / "kiosk" / "axe"
    shots.mkdir(parents=True, exist_ok=True)
    context, page, errors = open_kiosk(chromium, size)
    fake_speech(page, [VIETNAMESE_VOICE, ENGLISH_VOICE])  # the speaker button on every question
    page.add_init_script(script=BREAKABLE_STORAGE)
    screens = Screens(page, size, shots)

    # The welcome screen; and axe does see a button without a name when there is one
    pair(page, live_server, survey["pairing_code"])
    page.evaluate("document.getElementById('screen').append(document.createElement('button'))")
    assert [v.rule for v in axe_violations(page)] == ["button-name"]
    page.evaluate("document.querySelector('#screen > button').remove()")
    screens.check("welcome")
    tap(page, page.get_by_test_id("lang-en"))
    screens.check("welcome in English")
    tap(page, page.get_by_test_id("lang-vi"))
    large_text(page, True)
    screens.check("welcome with larger text")
    large_text(page, False)

    # Each kind of question, and its error
    tap(page, page.get_by_test_id("start"))
    screens.check("single choice of 16")
    answer_question(page, HURRIED)
    screens.check("single choice")
    answer_until(page, "E.EXTRA_PAY", HURRIED)
    screens.check("yes or no")
    answer_until(page, "E.INFO", HURRIED)
    screens.check("multiple choice")
    tap(page, page.get_by_test_id("next"))
    page.locator("[data-step] .item-error:not(:empty)").wait_for()
    screens.check("multiple choice with its error")
    answer_until(page, "F1.1", HURRIED)
    screens.check("rating with the part's lead")
    answer_question(page, HURRIED)
    screens.check("rating with not applicable")
    answer_question(page, HURRIED)
    tap(page, page.get_by_test_id("back"))
    screens.check("rating answered")
    large_text(page, True)
    screens.check("rating with larger text")
    tap(page, page.get_by_test_id("lang-en"))
    screens.check("rating in English with larger text")
    tap(page, page.get_by_test_id("lang-vi"))
    large_text(page, False)

    # The dialogs
    tap(page, page.get_by_test_id("start-over"))
    screens.check("start over dialog")
    tap(page, page.get_by_test_id("restart-no"))
    # Real time, not Playwright's clock: under axe's load the page's faked clock falls behind, and two
    # taps on one button a second apart would look like a double tap to the kiosk.
    page.get_by_test_id("still-there").wait_for(timeout=(IDLE_SECONDS + 10) * 1000)
    screens.check("idle prompt")
    tap(page, page.get_by_test_id("continue"))
    assert current_step(page) == "F1.2"

    answer_until(page, "X.EXPECT", HURRIED)
    screens.check("optional multiple choice")
    answer_question(page, HURRIED)
    answer_question(page, {"D.GENDER": "female"})
    tap(page, page.get_by_test_id("back"))
    screens.check("optional single choice answered")
    answer_until(page, "C.COMMENT", HURRIED)
    page.locator('[data-item="C.COMMENT"]').fill("Cán bộ nhiệt tình")
    screens.check("text, the last question")
    tap(page, page.get_by_test_id("submit"))

    # The ends of a response
    page.get_by_test_id("thanks").wait_for()
    screens.check("thanks")
    large_text(page, True)
    screens.check("thanks with larger text")
    tap(page, page.get_by_test_id("thanks-done"))
    page.get_by_test_id("welcome").wait_for()
    tap(page, page.get_by_test_id("start"))
    answer_question(page, {"E.FIELD": "land"})
    page.get_by_test_id("quota-full").wait_for()
    screens.check("quota full")
    tap(page, page.get_by_test_id("thanks-done"))

    # The dossier code and a number (the short questionnaire), a save that fails, staff notices
    pair(page, live_server, kinds["pairing_code"])
    tap(page, page.get_by_test_id("start"))
    assert current_step(page) == "dossier"
    screens.check("dossier code")
    tap(page, page.get_by_test_id("next"))
    page.locator("[data-step] .item-error:not(:empty)").wait_for()
    screens.check("dossier code with its error")
    page.wait_for_timeout(REPEAT_MS)  # "Next" again: not as fast as a double tap (no one types so fast)
    answer_question(page, {"dossier": "HS-0912"})
    answer_until(page, "K.WAIT")
    screens.check("number")
    page.locator('[data-item="K.WAIT"]').fill("9999")
    tap(page, page.get_by_test_id("next"))
    page.locator("[data-step] .item-error:not(:empty)").wait_for()
    screens.check("number with its error")
    page.wait_for_timeout(REPEAT_MS)
    answer_until(page, "C.COMMENT", {"K.WAIT": "15", "D.GENDER": SKIP})
    page.evaluate("window.__storageBroken = true")
    context.set_offline(True)
    tap(page, page.get_by_test_id("submit"))
    page.get_by_test_id("save-error").wait_for()
    screens.check("save error")
    tap(page, page.get_by_test_id("start-over"))
    screens.check("start over dialog after a save error")
    tap(page, page.get_by_test_id("restart-yes"))
    page.evaluate("window.__storageBroken = false")
    tap(page, page.get_by_test_id("start"))
    answer_until(page, "C.COMMENT", {"dossier": "HS-0913", "K.WAIT": "5", "D.GENDER": SKIP})
    tap(page, page.get_by_test_id("submit"))
    tap(page, page.get_by_test_id("thanks-done"))
    page.get_by_test_id("waiting-count").wait_for()
    kiosk_revoke(kiosk=kinds["kiosk"])  # back online, the kiosk is refused: a notice for the staff
    context.set_offline(False)
    page.evaluate("window.sipasKiosk.flush()")
    page.get_by_test_id("staff-notice").wait_for()
    assert page.get_by_test_id("waiting-count").inner_text() == "1 phiếu chờ gửi"
    screens.check("welcome with staff notices and a response waiting")

    # No survey
    pair(page, live_server, idle_kiosk["pairing_code"], "no-survey")
    screens.check("no survey")
    large_text(page, True)
    screens.check("no survey with larger text")

    serious = screens.serious()
    lesser = screens.lesser()
    figure = (f"{size}: {len(screens.found)} screens checked, {sum(map(len, serious.values()))} serious or critical"
              f"; lesser: {', '.join(f'{rule} on {n}' for rule, n in sorted(lesser.items())) or 'none'}")
    with capsys.disabled():
        print(f"\n[kiosk axe] {figure}")
    with (artifacts / "kiosk" / "axe.txt").open("a", encoding="utf-8") as out:
        out.write(f"{datetime.date.today().isoformat()} {figure}\n")
    assert not any(serious.values()), "\n".join(format_violations(v, f"{name} at {size}")
                                                for name, v in serious.items() if v)
    assert len(screens.found) == 30
    assert errors == []
    context.close()
