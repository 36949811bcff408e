"""Reads for the score pages, on scores the real engine computed from real responses."""

from django.utils import timezone

from fieldwork.models import Response
from fieldwork.services import round_close, round_create
from questionnaires.answers import pack_answers
from scoring import selectors
from scoring.models import ScoreRun, UnitScore
from scoring.services import score_run_execute
from tests.base import make_unit
from tests.fieldwork.base import KioskTestCase, full_answers


def insert_responses(survey_round, unit, answers, count=1):
    """Many identical responses at once, straight into the table (as the engine tests do)."""
    now = timezone.now()
    slots = pack_answers(survey_round.questionnaire.parsed, answers).slots
    Response.objects.bulk_create([
        Response(round=survey_round, unit=unit,
                 channel=Response.Channel.PAPER,
                 paper_entry=Response.PaperEntry.TYPED, language="vi", submitted_at=now, received_at=now, answers=slots)
        for _ in range(count)
    ])


def compute(survey_round):
    """A full recompute through the job machinery, as a worker runs it."""
    run = ScoreRun.objects.create(round=survey_round, reason="command")
    run = score_run_execute(run_id=run.pk)
    assert run.status == ScoreRun.Status.DONE, run.error
    return run


class ScoredRoundTestCase(KioskTestCase):
    """The province round with computed scores:

    province 08 ─┬─ 02212 (40: G.0 all 4 but 8 at 2; F1.1 weak) ── 02212.TTPV (32 of them)
                 ├─ 02230 (28: too few)
                 ├─ 02231 (35: G.0 half 5, half 2)
                 └─ 02299 (no responses; existed during the round)
    and 30 forms collected at the province itself, so that 02230's figures cannot be worked out from
    the province's and the shown communes' (scoring.disclosure): no unit is withheld to protect it.
    02212.TTPV is (its commune's own 8 forms would be its commune minus it).
    A commune merged away before the round (02200) is not listed.
    """

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.third_commune = make_unit("02231", cls.province, name="Xã Thứ Ba")
        cls.silent_commune = make_unit("02299", cls.province, name="Xã Im Lặng")
        cls.gone_commune = make_unit("02200", cls.province, name="Xã Đã Nhập", valid_to=timezone.localdate(
            ) - timezone.timedelta(days=400))
        weak = full_answers(**{"F1.1": 2, "X.EXPECT": ["shorten_time"]})
        insert_responses(cls.round, cls.commune_centre, weak, count=24)
        insert_responses(cls.round, cls.commune_centre, full_answers(**{"G.0": 2}), count=8)
        insert_responses(cls.round, cls.commune, full_answers(**{"X.EXPECT": ["lower_fees"]}), count=8)
        insert_responses(cls.round, cls.other_commune, full_answers(), count=28)
        insert_responses(cls.round, cls.third_commune, full_answers(**{"G.0": 5}), count=18)
        insert_responses(cls.round, cls.third_commune, full_answers(**{"G.0": 2}), count=17)
        insert_responses(cls.round, cls.province, full_answers(), count=30)
        cls.score_run = compute(cls.round)


class UnitAndChildScoresTests(ScoredRoundTestCase):
    def test_unit_score_is_the_stored_row_with_its_run(self):
        with self.assertNumQueries(1):
            score = selectors.unit_score(survey_round=self.round, unit=self.commune)
            self.assertEqual(score.run.pk, self.score_run.pk)
        self.assertEqual((score.n, score.enough), (40, True))
        self.assertAlmostEqual(score.headline, 80.0)  # 32 of 40 answered G.0 with 4

    def test_a_unit_without_a_stored_score_has_none(self):
        self.assertIsNone(selectors.unit_score(survey_round=self.round, unit=self.silent_commune))

    def test_children_are_ranked_then_too_small_then_unscored_and_merged_away_units_are_left_out(self):
        with self.assertNumQueries(2):
            children = selectors.child_scores(survey_round=self.round, unit=self.province)

        self.assertEqual([unit.code for unit, _score in children], ["02212", "02231", "02230", "02299"])
        ranks = [(score.rank, score.rank_of) if score else None for _unit, score in children]
        self.assertEqual(ranks, [(1, 2), (2, 2), (None, None), None])

    def test_a_merged_unit_with_responses_in_the_round_is_still_listed(self):
        insert_responses(self.round, self.gone_commune, full_answers(), count=2)
        compute(self.round)

        children = selectors.child_scores(survey_round=self.round, unit=self.province)

        self.assertIn("02200", [unit.code for unit, _score in children])

    def test_the_query_count_does_not_grow_with_the_number_of_children(self):
        for i in range(30):
            unit = make_unit(f"0240{i:02d}", self.province)
            insert_responses(self.round, unit, full_answers(), count=1)
        compute(self.round)

        with self.assertNumQueries(2):
            children = selectors.child_scores(survey_round=self.round, unit=self.province)
        self.assertEqual(len(children), 34)


class SiblingTests(ScoredRoundTestCase):
    def test_siblings_carry_only_headline_and_rank_and_mark_the_unit_itself(self):
        with self.assertNumQueries(2):
            siblings = selectors.sibling_scores(survey_round=self.round, unit=self.commune)

        self.assertEqual([row["unit"].code for row in siblings], ["02212", "02231", "02230", "02299"])
        self.assertEqual([row["current"] for row in siblings], [True, False, False, False])
        self.assertEqual(set(siblings[0]), {"unit", "current", "n", "enough", "headline", "rank", "rank_of",
                                            "scored", "withheld"})
        stored = UnitScore.objects.get(round=self.round, unit=self.third_commune)
        self.assertEqual((siblings[1]["headline"], siblings[1]["rank"]), (stored.headline, 2))

    def test_a_sibling_with_too_few_responses_shows_no_headline(self):
        siblings = selectors.sibling_scores(survey_round=self.round, unit=self.commune)

        small = next(row for row in siblings if row["unit"].code == "02230")
        self.assertEqual((small["n"], small["enough"], small["headline"]), (28, False, None))

    def test_the_round_unit_has_no_siblings(self):
        with self.assertNumQueries(0):
            self.assertEqual(selectors.sibling_scores(survey_round=self.round, unit=self.province), [])


class TrendTests(ScoredRoundTestCase):
    def test_the_trend_lists_the_rounds_of_the_family_up_to_this_one_oldest_first(self):
        first = self.round
        round_close(survey_round=first)
        later = round_create(name="Quý I/2027", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
        insert_responses(later, self.commune, full_answers(**{"G.0": 5}), count=31)
        compute(later)
        round_close(survey_round=later)
        other_family = round_create(name="Dịch vụ 2027", questionnaire_code="sipas-2023-services", unit_code="08",
                                    open_now=True)
        insert_responses(other_family, self.commune, full_answers("sipas-2023-services"), count=3)
        compute(other_family)
        later = selectors.get_round_for_scores(self.admin, later.pk)

        with self.assertNumQueries(1):
            points = selectors.trend(survey_round=later, unit=self.commune)

        self.assertEqual([p["label"] for p in points], ["Quý IV/2026", "Quý I/2027"])
        self.assertEqual([p["current"] for p in points], [False, True])
        self.assertAlmostEqual(points[0]["headline"], 80.0)
        self.assertEqual((points[1]["headline"], points[1]["n"], points[1]["enough"]), (100.0, 31, True))
        first = selectors.get_round_for_scores(self.admin, first.pk)
        self.assertEqual([p["label"] for p in selectors.trend(survey_round=first, unit=self.commune)],
                         ["Quý IV/2026"])


class LabelTests(ScoredRoundTestCase):
    def test_labels_come_from_the_definition_in_the_language_asked(self):
        english = selectors.labels(self.round, "en")
        vietnamese = selectors.labels(self.round, "vi")

        self.assertEqual(english["items"]["F1.1"], "There are enough seats in the waiting area.")
        self.assertEqual(vietnamese["items"]["F1.1"], "Nơi ngồi chờ có đủ chỗ ngồi.")
        self.assertEqual(english["factors"]["F3"], "Civil servants who handle the work")
        self.assertEqual(english["general_items"]["F1"], "F1.G")
        self.assertEqual(english["indicators"]["E.EXTRA_PAY"]["options"], {"yes": "Yes", "no": "No"})
        self.assertEqual(english["indicators"]["E.VISITS"]["options"]["1"], "Once")
        self.assertIn("shorten_time", english["expectations"])
        self.assertEqual((english["headline_method"], english["min_responses"]), ("item", 30))

    def test_a_regional_variant_reads_as_its_language_and_an_unknown_one_as_vietnamese(self):
        self.assertEqual(selectors.labels(self.round, "en-GB")["factors"]["F1"], "Access to the service")
        self.assertEqual(selectors.labels(self.round, "fr")["factors"]["F1"], "Tiếp cận dịch vụ hành chính công")

    def test_the_services_version_names_its_headline_the_services_index(self):
        round_close(survey_round=self.round)
        services = round_create(name="Dịch vụ", questionnaire_code="sipas-2023-services", unit_code="08")

        labels = selectors.labels(services, "en")

        self.assertEqual((labels["headline"], labels["headline_method"]), ("Services index", "mean_of_factors"))
        self.assertEqual(selectors.labels(self.round, "en")["headline"], "SIPAS index")
        self.assertEqual(labels["general_items"], {})  # no "in general" items in this version


class RoundListTests(ScoredRoundTestCase):
    def test_a_commune_head_enters_the_province_round_at_their_commune(self):
        with self.assertNumQueries(3):
            rounds = selectors.rounds_with_scores(self.head)

        self.assertEqual(len(rounds), 1)
        self.assertEqual([(e["unit"].code, e["scores"]) for e in rounds[0]["entries"]], [("02212", True)])

    def test_an_officer_enters_for_the_overview_only_and_a_far_officer_sees_nothing(self):
        entries = selectors.rounds_with_scores(self.officer)[0]["entries"]

        self.assertEqual([(e["unit"].code, e["scores"]) for e in entries], [("02212", False)])
        self.assertEqual(selectors.rounds_with_scores(self.far_officer), [])
        self.assertEqual(selectors.rounds_with_scores(self.nobody), [])

    def test_the_province_head_enters_at_the_round_unit(self):
        rounds = selectors.rounds_with_scores(self.province_head)

        self.assertEqual([(e["unit"].code, e["scores"]) for e in rounds[0]["entries"]], [("08", True)])
        self.assertTrue(rounds[0]["scored"])
