import csv
import io
from collections import Counter

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import SimpleTestCase, override_settings
from django.urls import reverse
from django.utils import translation

from fieldwork.models import Dossier, DossierList, Quota, Sample
from fieldwork.quotas import quota_set
from fieldwork.sampling import (
    AllocationError,
    SamplingError,
    allocate_proportional,
    dossier_list_import,
    propose_quotas,
    quota_proposal_save,
    sample_call_list_csv,
    sample_draw,
    sample_size,
)
from fieldwork.services import round_create
from tests.base import make_user
from tests.fieldwork.base import KioskTestCase
from units.models import Role

HEADER = "dossier_code,unit_code,service_field,completed_on"
# 100 dossiers in four strata: 02212 land 40, 02212 justice 30, 02230 land 20, 02212.TTPV justice 10.
FRAME = (
    [(f"A-{i:03d}", "02212", "land", "2026-10-01") for i in range(40)]
    + [(f"B-{i:03d}", "02212", "justice", "2026-10-02") for i in range(30)]
    + [(f"C-{i:03d}", "02230", "land", "2026-10-03") for i in range(20)]
    + [(f"D-{i:03d}", "02212.TTPV", "justice", "2026-10-04") for i in range(10)]
)


def csv_text(rows, header=HEADER, bom=False):
    lines = [header] + [",".join(row) for row in rows]
    return ("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n"


class SamplingTestCase(KioskTestCase):
    """self.round is open over province 08; the province administrator runs its fieldwork."""

    def setUp(self):
        self.enterContext(translation.override("en"))
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    def import_frame(self, name="Hồ sơ quý IV", survey_round=None, rows=FRAME):
        return dossier_list_import(survey_round=survey_round or self.round, name=name, text=csv_text(rows),
                                   user=self.province_admin)

    def codes(self, sample):
        return list(sample.members.order_by("position").values_list("dossier__code", flat=True))


class ImportTests(SamplingTestCase):
    def test_an_import_stores_every_row_of_the_file_even_with_a_byte_order_mark(self):
        dossier_list = dossier_list_import(survey_round=self.round, name="Quý IV", text=csv_text(FRAME, bom=True),
                                           user=self.province_admin)

        self.assertEqual(dossier_list.dossiers.count(), 100)
        first = Dossier.objects.get(dossier_list=dossier_list, code="D-000")
        self.assertEqual((first.unit, first.service_field, first.completed_on.isoformat()),
                         (self.commune_centre, "justice", "2026-10-04"))
        self.assertEqual((dossier_list.round, dossier_list.imported_by), (self.round, self.province_admin))

    def test_every_bad_row_is_reported_with_its_row_number_and_nothing_is_stored(self):
        rows = [
            ("X-1", "99999", "land", "2026-10-01"),
            ("X-2", "10", "land", "2026-10-01"),
            ("X-3", "02212", "land", "2026-13-01"),
            ("", "02212", "land", "2026-10-01"),
            ("X" * 65, "02212", "land", "2026-10-01"),
            ("X-1", "02230", "land", "2026-10-01"),
            ("X-7", "02230", "fishing", "01/10/2026"),
            ("X-8", "02230", "land", "2026-10-01"),
        ]

        with pytest.raises(SamplingError) as raised:
            self.import_frame(rows=rows)

        self.assertEqual(raised.value.errors, [
            "row 2: unit_code '99999' is not a known unit",
            "row 3: unit 10 is not in the round's area (08)",
            "row 4: completed_on '2026-13-01' is not a date in the form YYYY-MM-DD",
            "row 5: dossier_code is empty",
            "row 6: dossier_code is longer than 64 characters",
            "row 7: dossier_code 'X-1' is already used on row 2",
            "row 8: service_field 'fishing' is not one of land, environment, driving_licence, transport, "
            "construction, planning, culture, sport_tourism, crops, livestock, judicial_records, legal_aid, "
            "business_registration, justice, labour_social, other",
            "row 8: completed_on '01/10/2026' is not a date in the form YYYY-MM-DD",
        ])
        self.assertFalse(DossierList.objects.exists())
        self.assertFalse(Dossier.objects.exists())

    def test_unit_codes_whose_leading_zeros_excel_dropped_are_the_units_they_were(self):
        rows = [("A-1", "2212", "land", "2026-10-01"), ("A-2", "02212", "land", "2026-10-01")]

        dossier_list = self.import_frame(rows=rows)

        self.assertEqual(set(dossier_list.dossiers.values_list("unit__code", flat=True)), {"02212"})
        with pytest.raises(SamplingError) as raised:
            self.import_frame(rows=[("B-1", "10", "land", "2026-10-01"), ("B-2", "2", "land", "2026-10-01")])
        self.assertEqual(raised.value.errors, ["row 2: unit 10 is not in the round's area (08)",
                                               "row 3: unit_code '2' is not a known unit"])

    def test_an_unknown_column_such_as_a_name_is_refused(self):
        text = "dossier_code,unit_code,service_field,completed_on,citizen_name\r\nA-1,02212,land,2026-10-01,An\r\n"

        with pytest.raises(SamplingError) as raised:
            dossier_list_import(survey_round=self.round, name="x", text=text, user=self.province_admin)

        self.assertEqual(raised.value.errors,
                         ["row 1: unknown column(s): citizen_name (the header is " + HEADER + ")"])

    def test_a_missing_column_and_an_empty_file_are_refused(self):
        with pytest.raises(SamplingError, match="missing column"):
            dossier_list_import(survey_round=self.round, name="x", text="dossier_code,unit_code\r\n",
                                user=self.province_admin)
        with pytest.raises(SamplingError, match="no dossiers"):
            dossier_list_import(survey_round=self.round, name="x", text=HEADER + "\r\n", user=self.province_admin)


class DrawTests(SamplingTestCase):
    def test_a_sample_is_shared_among_the_strata_in_proportion_to_their_dossiers(self):
        dossier_list = self.import_frame()

        sample = sample_draw(dossier_list=dossier_list, size=10, seed=7, user=self.province_admin)

        expected = {"02212 / land": 4, "02212 / justice": 3, "02230 / land": 2, "02212.TTPV / justice": 1}
        self.assertEqual(sample.allocation, expected)
        self.assertEqual(dict(Counter(sample.members.values_list("stratum", flat=True))), expected)
        self.assertEqual(sorted(sample.members.values_list("position", flat=True)), list(range(1, 11)))
        self.assertEqual((sample.seed, sample.strata, sample.size), (7, "unit,service_field", 10))

    def test_the_same_seed_and_list_give_the_same_sample_and_call_list_even_after_a_reimport(self):
        first_list = self.import_frame()
        again_list = self.import_frame(name="the same file again", rows=list(reversed(FRAME)))

        first = sample_draw(dossier_list=first_list, size=15, seed=20261123, user=self.province_admin)
        again = sample_draw(dossier_list=first_list, size=15, seed=20261123, user=self.province_admin)
        reimported = sample_draw(dossier_list=again_list, size=15, seed=20261123, user=self.province_admin)

        self.assertEqual(self.codes(first), self.codes(again))
        self.assertEqual(self.codes(first), self.codes(reimported))
        self.assertEqual(sample_call_list_csv(sample=first), sample_call_list_csv(sample=reimported))

    def test_a_different_seed_gives_a_different_sample(self):
        dossier_list = self.import_frame()

        one = sample_draw(dossier_list=dossier_list, size=15, seed=1, user=self.province_admin)
        two = sample_draw(dossier_list=dossier_list, size=15, seed=2, user=self.province_admin)

        self.assertNotEqual(self.codes(one), self.codes(two))

    def test_without_a_seed_one_is_generated_and_recorded_so_the_draw_can_be_repeated(self):
        dossier_list = self.import_frame()

        sample = sample_draw(dossier_list=dossier_list, size=5, user=self.province_admin)
        repeat = sample_draw(dossier_list=dossier_list, size=5, seed=sample.seed, user=self.province_admin)

        self.assertTrue(0 <= sample.seed < 2**63)
        self.assertEqual(self.codes(sample), self.codes(repeat))

    def test_a_minimum_per_stratum_is_met_and_the_total_stays_exact(self):
        dossier_list = self.import_frame()

        sample = sample_draw(dossier_list=dossier_list, size=10, seed=3, min_per_stratum=2, strata=("unit",),
                             user=self.province_admin)

        # units: 02212 has 70, 02230 20, 02212.TTPV 10 → 7, 2, 1 proportionally; the minimum lifts 02212.TTPV.
        self.assertEqual(sample.allocation, {"02212": 6, "02230": 2, "02212.TTPV": 2})
        self.assertEqual(sample.members.count(), 10)

    def test_a_sample_larger_than_the_list_is_refused_with_a_clear_message(self):
        dossier_list = self.import_frame()

        with pytest.raises(SamplingError) as raised:
            sample_draw(dossier_list=dossier_list, size=101, user=self.province_admin)

        self.assertEqual(raised.value.errors, ["a sample of 101 is larger than the list, which has 100 dossiers"])
        self.assertFalse(Sample.objects.exists())

    def test_the_call_list_is_utf8_csv_with_a_byte_order_mark_in_call_order(self):
        sample = sample_draw(dossier_list=self.import_frame(), size=3, seed=5, user=self.province_admin)

        text = sample_call_list_csv(sample=sample)
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))

        self.assertTrue(text.startswith('\ufeff"position","dossier_code",'))  # text quoted
        self.assertEqual(rows[0], ["position", "dossier_code", "unit_code", "unit_name", "service_field",
                                   "completed_on", "stratum"])
        self.assertEqual([row[0] for row in rows[1:]], ["1", "2", "3"])
        self.assertTrue(text.splitlines()[1].startswith("1,"))  # numbers bare
        self.assertEqual([row[1] for row in rows[1:]], self.codes(sample))


class AllocationTests(SimpleTestCase):
    """Pure functions: no database."""

    def test_proportional_allocation_follows_the_counts(self):
        assert allocate_proportional({"a": 50, "b": 30, "c": 20}, 10) == {"a": 5, "b": 3, "c": 2}

    def test_the_largest_remainders_get_the_units_left(self):
        # shares 4.5, 3.5, 2.0 → 4, 3, 2 and one left: a tie of .5, the larger count wins.
        assert allocate_proportional({"a": 45, "b": 35, "c": 20}, 10) == {"a": 5, "b": 3, "c": 2}

    def test_a_tie_between_equal_counts_goes_to_the_first_key_in_order(self):
        assert allocate_proportional({"y": 3, "x": 3, "z": 2}, 4) == {"x": 2, "y": 1, "z": 1}
        assert allocate_proportional({"c": 1, "b": 1, "a": 1}, 2) == {"a": 1, "b": 1, "c": 0}

    def test_a_minimum_takes_from_the_others_and_a_stratum_never_gets_more_than_it_has(self):
        # b and c cannot reach 3: they give all they have; a takes the rest.
        assert allocate_proportional({"a": 100, "b": 2, "c": 1}, 10, minimum=3) == {"a": 7, "b": 2, "c": 1}
        # 9 and 1 proportionally; b is lifted to 2 and a keeps the rest.
        assert allocate_proportional({"a": 90, "b": 10}, 10, minimum=2) == {"a": 8, "b": 2}

    def test_the_parts_always_sum_to_the_total_within_the_stratum_sizes(self):
        counts = {"a": 37, "b": 1, "c": 12, "d": 0, "e": 50}
        for total in range(sum(counts.values()) + 1):
            for minimum in (0, 1, 3):
                try:
                    result = allocate_proportional(counts, total, minimum)
                except AllocationError:
                    assert sum(min(minimum, n) for n in counts.values()) > total
                    continue
                assert sum(result.values()) == total
                assert all(min(minimum, counts[k]) <= n <= counts[k] for k, n in result.items())

    def test_a_minimum_the_total_cannot_cover_is_refused(self):
        message = "a minimum of 4 for each of 3 strata needs 12, more than the total 10"
        with pytest.raises(AllocationError, match=message):
            allocate_proportional({"a": 5, "b": 5, "c": 5}, 10, minimum=4)

    def test_a_total_above_what_the_strata_hold_is_refused_unless_uncapped(self):
        with pytest.raises(AllocationError):
            allocate_proportional({"a": 2, "b": 1}, 4)
        assert allocate_proportional({"a": 2, "b": 1, "c": 0}, 6, minimum=1, capped=False) == {"a": 3, "b": 2, "c": 1}

    def test_the_sample_size_formula_of_sipas(self):
        assert sample_size(1000) == 286  # 1000 / (1 + 1000 × 0.0025) = 285.7
        assert sample_size(400) == 200  # exactly 400 / 2: not pushed up by float error
        assert sample_size(0) == 0
        assert sample_size(1000, e=0.1) == 91  # 1000 / 11 = 90.9


class ProposeQuotaTests(SamplingTestCase):
    def test_a_total_is_shared_among_the_sub_units_by_their_dossiers(self):
        dossier_list = self.import_frame()

        proposals = propose_quotas(survey_round=self.round, total=10, dossier_list=dossier_list)

        # 02212 has 80 dossiers (with its centre), 02230 has 20.
        self.assertEqual([(p.unit.code, p.stratum_item, p.dossiers, p.target) for p in proposals],
                         [("02212", "", 80, 8), ("02230", "", 20, 2)])
        self.assertFalse(Quota.objects.exists())

    def test_without_a_list_the_sub_units_get_equal_shares(self):
        proposals = propose_quotas(survey_round=self.round, total=9, minimum=0)

        self.assertEqual([(p.unit.code, p.dossiers, p.target) for p in proposals],
                         [("02212", None, 5), ("02230", None, 4)])

    def test_a_margin_of_error_gives_each_unit_its_own_sample_size(self):
        dossier_list = self.import_frame()

        proposals = propose_quotas(survey_round=self.round, e=0.05, minimum=25, dossier_list=dossier_list)

        # 80 / 1.2 = 66.7 → 67; 20 / 1.05 = 19.05 → 20, lifted to the minimum of 25.
        self.assertEqual([p.target for p in proposals], [67, 25])

    def test_quotas_by_unit_and_service_field_follow_the_fields_in_the_list(self):
        dossier_list = self.import_frame()

        proposals = propose_quotas(survey_round=self.round, total=10, by="unit_field", dossier_list=dossier_list)

        self.assertEqual([(p.unit.code, p.stratum_item, p.stratum_value, p.target) for p in proposals], [
            ("02212", "E.FIELD", "land", 4), ("02212", "E.FIELD", "justice", 4), ("02230", "E.FIELD", "land", 2),
        ])

    def test_a_proposal_needs_either_a_total_or_a_margin_of_error(self):
        with pytest.raises(SamplingError, match="either a total"):
            propose_quotas(survey_round=self.round)
        with pytest.raises(SamplingError, match="needs a dossier list"):
            propose_quotas(survey_round=self.round, e=0.05)

    def test_saving_a_proposal_sets_quotas_through_quota_set(self):
        saved = quota_proposal_save(survey_round=self.round, rows=[("02212", "land", 4), ("02230", "", 2),
                                                                   ("02212", "justice", 0)])

        self.assertEqual(saved, 2)
        self.assertEqual(sorted(Quota.objects.values_list("unit__code", "stratum_item", "stratum_value", "target")),
                         [("02212", "E.FIELD", "land", 4), ("02230", "", "", 2)])

    def test_saving_a_proposal_changes_the_target_of_an_existing_quota_and_keeps_its_policy(self):
        quota_set(survey_round=self.round, unit=self.commune, target=3, policy=Quota.Policy.CLOSE)

        quota_proposal_save(survey_round=self.round, rows=[("02212", "", 9)])

        self.assertEqual(Quota.objects.values_list("target", "policy").get(), (9, "close"))

    def test_a_refused_row_saves_none_of_the_proposal(self):
        with pytest.raises(SamplingError) as raised:
            quota_proposal_save(survey_round=self.round,
                                rows=[("02212", "", 4), ("10", "", 2), ("02230", "fishing", 1)])

        self.assertEqual(raised.value.errors[0], "10: not a unit of this round")
        self.assertIn("'fishing' is not an answer to E.FIELD", raised.value.errors[1])
        self.assertFalse(Quota.objects.exists())


class PageTests(SamplingTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        # A draft round of the officer's commune, beside the open round of the province.
        cls.commune_round = round_create(name="Xã Sơn Dương", questionnaire_code="sipas-2017", unit_code="02212")
        cls.other_officer = make_user("other_officer", (Role.Kind.OFFICER, cls.other_commune))

    def urls(self, survey_round):
        dossier_list = DossierList.objects.create(round=survey_round, name="l", imported_by=self.officer)
        sample = Sample.objects.create(dossier_list=dossier_list, seed=1, strata="unit", size=0, drawn_by=self.officer)
        return [
            reverse("fieldwork:dossier-lists", args=[survey_round.pk]),
            reverse("fieldwork:dossier-list", args=[survey_round.pk, dossier_list.pk]),
            reverse("fieldwork:sample-csv", args=[survey_round.pk, sample.pk]),
            reverse("fieldwork:quota-allocate", args=[survey_round.pk]),
        ]

    def test_an_anonymous_visitor_is_sent_to_the_login_page(self):
        for url in self.urls(self.commune_round):
            response = self.client.get(url)

            self.assertRedirects(response, f"{reverse('login')}?next={url}", fetch_redirect_response=False)

    def test_the_pages_are_not_found_for_an_officer_of_another_unit_or_a_head(self):
        urls = self.urls(self.commune_round)
        for user in (self.other_officer, self.head):
            self.client.force_login(user)
            for url in urls:
                self.assertEqual(self.client.get(url).status_code, 404, (user, url))
        self.client.force_login(self.officer)
        for url in urls:
            self.assertEqual(self.client.get(url).status_code, 200, url)

    def test_a_list_or_sample_of_another_round_is_not_found_under_this_round(self):
        other_urls = self.urls(self.round)
        list_id, sample_url = other_urls[1].rstrip("/").split("/")[-1], other_urls[2]
        self.client.force_login(self.officer)

        listing = self.client.get(reverse("fieldwork:dossier-list", args=[self.commune_round.pk, list_id]))
        csv_file = self.client.get(sample_url.replace(f"/rounds/{self.round.pk}/", f"/rounds/{self.commune_round.pk}/"))

        self.assertEqual((listing.status_code, csv_file.status_code), (404, 404))

    def test_an_officer_uploads_a_list_and_sees_its_strata(self):
        self.client.force_login(self.officer)
        rows = [row for row in FRAME if row[1] != "02230"]
        upload = SimpleUploadedFile("ds.csv", csv_text(rows, bom=True).encode(), content_type="text/csv")

        response = self.client.post(reverse("fieldwork:dossier-lists", args=[self.commune_round.pk]),
                                    {"name": "Tháng 10", "file": upload}, follow=True)

        dossier_list = DossierList.objects.get(round=self.commune_round)
        self.assertRedirects(response, reverse("fieldwork:dossier-list", args=[self.commune_round.pk, dossier_list.pk]))
        self.assertEqual(dossier_list.dossiers.count(), 80)
        self.assertContains(response, "Justice (civil status, certification)")
        self.assertContains(response, '<td class="num">40</td>', html=False)

    def test_an_upload_with_bad_rows_shows_every_error_and_stores_nothing(self):
        self.client.force_login(self.officer)
        text = csv_text([("A-1", "02230", "land", "2026-10-01"), ("A-2", "02212", "land", "yesterday")])
        upload = SimpleUploadedFile("ds.csv", text.encode(), content_type="text/csv")

        response = self.client.post(reverse("fieldwork:dossier-lists", args=[self.commune_round.pk]),
                                    {"name": "Tháng 10", "file": upload})

        self.assertContains(response, "row 2: unit 02230 is not in the round&#x27;s area (02212)")
        self.assertContains(response, "row 3: completed_on &#x27;yesterday&#x27; is not a date")
        self.assertFalse(DossierList.objects.filter(round=self.commune_round).exists())

    def test_an_officer_draws_a_sample_and_downloads_its_call_list(self):
        dossier_list = self.import_frame(survey_round=self.commune_round, rows=FRAME[:40] + FRAME[90:])
        self.client.force_login(self.officer)
        url = reverse("fieldwork:dossier-list", args=[self.commune_round.pk, dossier_list.pk])

        response = self.client.post(url, {"size": "5", "strata": "unit", "seed": "42", "min_per_stratum": "1"},
                                    follow=True)

        sample = Sample.objects.get(dossier_list=dossier_list)
        self.assertEqual((sample.seed, sample.allocation), (42, {"02212": 4, "02212.TTPV": 1}))
        self.assertContains(response, f"Sample {sample.pk} is drawn with seed 42.")
        download = self.client.get(reverse("fieldwork:sample-csv", args=[self.commune_round.pk, sample.pk]))
        self.assertEqual(download["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn(f'filename="sample-{sample.pk}-seed-42.csv"', download["Content-Disposition"])
        self.assertEqual(download.content.decode("utf-8"), sample_call_list_csv(sample=sample))

    def test_a_draw_larger_than_the_list_shows_why(self):
        dossier_list = self.import_frame(survey_round=self.commune_round, rows=FRAME[:3])
        self.client.force_login(self.officer)

        response = self.client.post(reverse("fieldwork:dossier-list", args=[self.commune_round.pk, dossier_list.pk]),
                                    {"size": "4", "strata": "unit,service_field"})

        self.assertContains(response, "a sample of 4 is larger than the list, which has 3 dossiers")
        self.assertFalse(Sample.objects.filter(dossier_list=dossier_list).exists())

    def test_the_list_page_reads_the_round_with_a_fixed_number_of_queries(self):
        dossier_list = self.import_frame()
        for seed in (1, 2, 3):
            sample_draw(dossier_list=dossier_list, size=3, seed=seed, user=self.province_admin)
        self.client.force_login(self.province_admin)
        url = reverse("fieldwork:dossier-list", args=[self.round.pk, dossier_list.pk])

        # session, user, round, role check, list, strata (grouped), samples with who drew them
        with self.assertNumQueries(7):
            self.client.get(url)

    def test_the_allocation_page_proposes_editable_targets_without_saving(self):
        dossier_list = self.import_frame()
        self.client.force_login(self.province_admin)
        url = reverse("fieldwork:quota-allocate", args=[self.round.pk])

        response = self.client.get(url, {"total": "10", "by": "unit", "dossier_list": dossier_list.pk, "minimum": ""})

        self.assertContains(response, 'name="form-0-target" value="8"', html=False)
        self.assertContains(response, 'name="form-1-target" value="2"', html=False)
        self.assertFalse(Quota.objects.exists())

    def test_saving_the_edited_proposal_creates_quota_rows(self):
        self.client.force_login(self.province_admin)
        url = reverse("fieldwork:quota-allocate", args=[self.round.pk])
        data = {"form-TOTAL_FORMS": "3", "form-INITIAL_FORMS": "3",
                "form-0-unit": "02212", "form-0-field": "land", "form-0-target": "12",
                "form-1-unit": "02212", "form-1-field": "justice", "form-1-target": "",
                "form-2-unit": "02230", "form-2-field": "land", "form-2-target": "3"}

        response = self.client.post(url, data)

        self.assertRedirects(response, reverse("fieldwork:quotas", args=[self.round.pk]), fetch_redirect_response=False)
        quotas = Quota.objects.values_list("unit__code", "stratum_item", "stratum_value", "target")
        self.assertEqual(sorted(quotas), [("02212", "E.FIELD", "land", 12), ("02230", "E.FIELD", "land", 3)])

    def test_a_refused_quota_shows_why_and_saves_nothing(self):
        self.client.force_login(self.province_admin)
        url = reverse("fieldwork:quota-allocate", args=[self.round.pk])
        data = {"form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "2",
                "form-0-unit": "02212", "form-0-field": "", "form-0-target": "12",
                "form-1-unit": "10", "form-1-field": "", "form-1-target": "3"}

        response = self.client.post(url, data)

        self.assertContains(response, "10: not a unit of this round")
        self.assertFalse(Quota.objects.exists())


class CommandTests(SamplingTestCase):
    def test_the_commands_import_a_list_and_draw_a_repeatable_sample_printing_ids_last(self):
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "dossiers.csv"
            source.write_text(csv_text(FRAME, bom=True), encoding="utf-8")
            out = io.StringIO()
            call_command("import_dossiers", str(source), "--round", str(self.round.pk), "--name", "Quý IV",
                         "--user", "province_admin", stdout=out)
            list_id = int(out.getvalue().splitlines()[-1])

            calls = []
            for name in ("one.csv", "two.csv"):
                out = io.StringIO()
                call_command("draw_sample", "--list", str(list_id), "--size", "12", "--seed", "99",
                             "--strata", "unit", "--user", "province_admin", "--out", str(Path(folder) / name),
                             stdout=out)
                sample_id, seed = out.getvalue().splitlines()[-1].split()
                calls.append((Path(folder) / name).read_bytes())

        self.assertEqual(DossierList.objects.get(pk=list_id).dossiers.count(), 100)
        self.assertEqual((Sample.objects.get(pk=sample_id).strata, seed), ("unit", "99"))
        self.assertEqual(calls[0], calls[1])
        self.assertTrue(calls[0].startswith('\ufeff"position",'.encode()))

    def test_the_import_command_lists_every_problem_and_refuses_a_user_without_the_role(self):
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "dossiers.csv"
            source.write_text(csv_text([("A", "02212", "land", "x"), ("B", "99", "land", "2026-01-01")]))
            with pytest.raises(CommandError, match="(?s)row 2: completed_on.*row 3: unit_code '99'"):
                call_command("import_dossiers", str(source), "--round", str(self.round.pk), "--name", "x",
                             "--user", "province_admin")
            with pytest.raises(CommandError, match="may not run fieldwork"):
                call_command("import_dossiers", str(source), "--round", str(self.round.pk), "--name", "x",
                             "--user", "head")
        self.assertFalse(DossierList.objects.exists())


class LargeFileTests(SamplingTestCase):
    """Files read as a stream, with the problems of a bad one capped (IMPORT_ERROR_LIMIT)."""

    def test_a_file_of_many_bad_rows_lists_the_first_problems_and_counts_the_others(self):
        rows = [(f"X-{i}", "99999", "land", "2026-10-01") for i in range(500)] + [("X-1", "02212", "land", "x")]

        with override_settings(IMPORT_ERROR_LIMIT=20), pytest.raises(SamplingError) as raised:
            self.import_frame(rows=rows)

        self.assertEqual(len(raised.value.errors), 20)
        self.assertEqual(raised.value.errors[0], "row 2: unit_code '99999' is not a known unit")
        self.assertEqual(raised.value.more, 500 + 2 - 20)  # the last row: a bad date and a repeated code
        self.assertFalse(Dossier.objects.exists())

    def test_repeated_codes_past_the_limit_are_counted(self):
        rows = [("SAME", "02212", "land", "2026-10-01")] * 30

        with override_settings(IMPORT_ERROR_LIMIT=5), pytest.raises(SamplingError) as raised:
            self.import_frame(rows=rows)

        self.assertEqual(raised.value.errors[0], "row 3: dossier_code 'SAME' is already used on row 2")
        self.assertEqual((len(raised.value.errors), raised.value.more), (5, 24))

    def test_a_list_larger_than_a_batch_is_stored_whole_and_again_as_a_new_list(self):
        rows = [(f"D-{i:05d}", "02212" if i % 2 else "02230", "land", "2026-10-01") for i in range(12_345)]

        first = self.import_frame(rows=rows)
        again = self.import_frame(rows=rows)

        self.assertEqual((first.dossiers.count(), again.dossiers.count()), (12_345, 12_345))
        self.assertEqual(Dossier.objects.get(dossier_list=first, code="D-12344").unit, self.other_commune)

    def test_the_upload_page_shows_the_capped_problems_in_vietnamese_naming_row_and_column(self):
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
        self.client.force_login(self.province_admin)
        text = csv_text([(f"X-{i}", "02212", "land", "hôm qua") for i in range(300)])

        with override_settings(IMPORT_ERROR_LIMIT=10):
            response = self.client.post(reverse("fieldwork:dossier-lists", args=[self.round.pk]),
                                        {"name": "Tháng 10", "file": SimpleUploadedFile("ds.csv", text.encode())},
                                        HTTP_ACCEPT_LANGUAGE="vi")

        self.assertContains(response, "dòng 2: completed_on &#x27;hôm qua&#x27; không phải ngày dạng YYYY-MM-DD")
        self.assertContains(response, "… và 290 lỗi khác (chỉ liệt kê 10 lỗi đầu tiên).")
        self.assertEqual(response.content.decode().count("completed_on"), 10 + 1)  # the ten and the form's help
        self.assertFalse(DossierList.objects.exists())

    def test_bad_utf8_is_named_with_its_row_on_the_page(self):
        self.client.force_login(self.province_admin)
        data = (HEADER + "\r\nA-1,02212,land,2026-10-01\r\nB-\xff,02212,land,2026-10-01\r\n").encode("latin-1")

        response = self.client.post(reverse("fieldwork:dossier-lists", args=[self.round.pk]),
                                    {"name": "x", "file": SimpleUploadedFile("ds.csv", data)})

        self.assertContains(response, "row 3: the file is not UTF-8 text")
        self.assertFalse(DossierList.objects.exists())

    def test_an_upload_larger_than_the_limit_is_refused_before_it_is_read(self):
        self.client.force_login(self.province_admin)
        upload = SimpleUploadedFile("ds.csv", csv_text(FRAME).encode())

        with override_settings(DOSSIER_UPLOAD_MAX_BYTES=1000):
            response = self.client.post(reverse("fieldwork:dossier-lists", args=[self.round.pk]),
                                        {"name": "x", "file": upload})

        self.assertContains(response, "The file is larger than 1000")
        self.assertFalse(DossierList.objects.exists())
