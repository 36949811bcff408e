from django.urls import reverse

from tests.base import BaseTestCase
from units import access


class UnitPageScopingTests(BaseTestCase):
    def page(self, unit):
        return reverse("units:detail", args=[unit.code])

    def test_a_head_sees_their_unit_and_what_is_below_it(self):
        self.client.force_login(self.head)

        self.assertContains(self.client.get(self.page(self.commune)), "Xã Sơn Dương")
        self.assertEqual(self.client.get(self.page(self.commune_centre)).status_code, 200)

    def test_a_head_gets_404_for_a_sibling_unit(self):
        self.client.force_login(self.head)

        response = self.client.get(self.page(self.other_commune))

        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, "Phường Minh Xuân", status_code=404)

    def test_a_head_gets_404_for_the_unit_above_them(self):
        self.client.force_login(self.head)

        self.assertEqual(self.client.get(self.page(self.province)).status_code, 404)

    def test_an_officer_gets_404_for_another_units_page(self):
        self.client.force_login(self.officer)

        self.assertEqual(self.client.get(self.page(self.commune)).status_code, 200)
        self.assertEqual(self.client.get(self.page(self.other_commune)).status_code, 404)

    def test_an_unknown_code_and_a_forbidden_code_look_the_same(self):
        self.client.force_login(self.head)

        unknown = self.client.get(reverse("units:detail", args=["NO-SUCH-UNIT"]))
        forbidden = self.client.get(self.page(self.other_commune))

        self.assertEqual((unknown.status_code, forbidden.status_code), (404, 404))

    def test_a_user_without_roles_gets_404_everywhere(self):
        self.client.force_login(self.nobody)

        for unit in (self.province, self.commune, self.another_province):
            self.assertEqual(self.client.get(self.page(unit)).status_code, 404)

    def test_an_anonymous_visitor_is_sent_to_the_login_page(self):
        response = self.client.get(self.page(self.commune))

        self.assertRedirects(response, f"{reverse('login')}?next={self.page(self.commune)}")

    def test_a_province_administrator_sees_the_whole_province_but_not_another(self):
        self.client.force_login(self.province_admin)

        for unit in (self.province, self.commune, self.other_commune, self.commune_centre):
            self.assertEqual(self.client.get(self.page(unit)).status_code, 200)
        self.assertEqual(self.client.get(self.page(self.another_province)).status_code, 404)

    def test_a_superuser_sees_every_unit(self):
        self.client.force_login(self.admin)

        for unit in (self.province, self.other_commune, self.another_province):
            self.assertEqual(self.client.get(self.page(unit)).status_code, 200)


class CapabilityTests(BaseTestCase):
    def test_a_head_reads_scores_but_does_not_run_fieldwork(self):
        self.assertTrue(access.user_can(self.head, self.commune, access.SCORES))
        self.assertFalse(access.user_can(self.head, self.commune, access.FIELDWORK))

    def test_an_officer_runs_fieldwork_but_does_not_read_unit_scores(self):
        self.assertTrue(access.user_can(self.officer, self.commune_centre, access.FIELDWORK))
        self.assertFalse(access.user_can(self.officer, self.commune, access.SCORES))

    def test_an_administrator_can_do_everything_in_their_subtree(self):
        for capability in (access.FIELDWORK, access.SCORES, access.OVERVIEW, access.ADMINISTER):
            self.assertTrue(access.user_can(self.province_admin, self.commune, capability))
            self.assertFalse(access.user_can(self.province_admin, self.another_province, capability))

    def test_checking_access_is_one_query(self):
        with self.assertNumQueries(1):
            access.user_can(self.head, self.commune_centre, access.SCORES)

    def test_visible_units_are_the_union_of_the_role_subtrees(self):
        codes = sorted(access.visible_units(self.head, access.SCORES).values_list("code", flat=True))

        self.assertEqual(codes, ["02212", "02212.TTPV"])
        self.assertFalse(access.visible_units(self.nobody, access.SCORES).exists())

    def test_an_inactive_user_can_do_nothing(self):
        self.head.is_active = False

        self.assertFalse(access.user_can(self.head, self.commune, access.SCORES))
