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
