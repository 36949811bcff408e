from django.db import IntegrityError, transaction

from tests.base import BaseTestCase, make_unit
from units.models import Unit


class UnitTreeTests(BaseTestCase):
    def test_a_subtree_is_one_query(self):
        with self.assertNumQueries(1):
            codes = [u.code for u in self.province.subtree()]

        self.assertEqual(codes, ["08", "02212", "02212.TTPV", "02230"])

    def test_the_subtree_query_uses_the_path_index(self):
        # Enough rows that PostgreSQL prefers the index to a sequential scan.
        Unit.objects.bulk_create(
            Unit(code=f"X{i}", name="x", level="commune", path=f"/10/X{i}/", depth=1, parent=self.another_province)
            for i in range(3000)
        )
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE units_unit")
        plan = self.province.subtree().explain()

        self.assertIn("Index Cond: (((path)::text ~>=~ '/08/'::text)", plan)

    def test_ancestor_paths_come_from_the_path_alone(self):
        self.assertEqual(self.commune_centre.ancestor_paths(), ["/08/", "/08/02212/", "/08/02212/02212.TTPV/"])

    def test_the_database_refuses_a_code_that_would_break_paths(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            make_unit("a/b", self.province)

    def test_the_database_refuses_a_unit_that_ends_before_it_starts(self):
        import datetime

        with self.assertRaises(IntegrityError), transaction.atomic():
            make_unit("X1", self.province, valid_from=datetime.date(2025, 7, 1), valid_to=datetime.date(2025, 6, 30))


class UnitPageTests(BaseTestCase):
    """The unit page's table of the units directly below: its heading counts its rows, and says
    apart how many are closed and how many units there are at every level below."""

    def test_the_heading_counts_the_rows_it_heads(self):
        import datetime

        from django.urls import reverse

        make_unit("076", self.province, level=Unit.Level.DISTRICT, name="Huyện cũ",
                  valid_to=datetime.date(2025, 6, 30))
        self.client.force_login(self.province_head)

        with self.settings(LANGUAGE_CODE="vi"):
            page = self.client.get(reverse("units:detail", args=["08"]), HTTP_ACCEPT_LANGUAGE="vi")

        heading = " ".join(page.content.decode()
                           .split('data-testid="children-heading">')[1].split("</div>")[0].split())
        rows = page.content.decode().split("<tbody>")[1].count("<tr")
        self.assertEqual(rows, 3)  # 02212, 02230 and the district merged away
        self.assertIn("3 đơn vị trực thuộc", heading)
        self.assertIn("trong đó 1 đơn vị đã giải thể hoặc sáp nhập", heading)
        self.assertIn("4 đơn vị ở mọi cấp bên dưới", heading)  # and the commune's centre
