"""A round's computation as a whole (scoring.engine.compute_round): counting, figures and ranking in
order, repeatable, reporting progress, in a fixed number of queries. The jobs have their own tests:
test_counting.py, test_figures.py, test_ranking.py."""

import ast
import dataclasses
from pathlib import Path

import pytest

from scoring.engine import compute_round
from tests.fieldwork.base import full_answers
from tests.scoring.base import EngineTestCase


class RunTests(EngineTestCase):
    def test_computing_twice_gives_identical_results(self):
        self.submit(**full_answers(**{"G.0": 2, "X.EXPECT": ["other"]}))
        self.submit(self.other_commune, **full_answers(**{"F1.2": 0}))
        first, second = compute_round(self.round), compute_round(self.round)
        self.assertEqual(dataclasses.asdict(first), dataclasses.asdict(second))

    def test_progress_is_reported_unit_by_unit(self):
        self.submit(**full_answers())
        calls = []
        compute_round(self.round, progress=lambda done, total: calls.append((done, total)))
        self.assertEqual(calls, [(1, 2), (2, 2)])

    def test_the_number_of_queries_does_not_grow_with_the_responses(self):
        self.insert(self.round, self.commune, full_answers())
        # The round; the units of its subtree; its latest dossier list; a savepoint, clearing the
        # pending changes, work_mem and jit, the grouped count, clearing and writing the stored
        # counts, the release; the earlier rounds of the family.
        with self.assertNumQueries(12):
            compute_round(self.round)
        self.insert(self.round, self.other_commune, full_answers(), count=50)
        self.insert(self.round, self.commune_centre, full_answers(**{"G.0": 1}), count=50)
        with self.assertNumQueries(12):
            result = compute_round(self.round)
        self.assertEqual(result.responses_used, 101)

    def test_a_round_without_responses_has_no_units(self):
        result = compute_round(self.round)
        self.assertEqual((result.units, result.responses_used), ([], 0))


JOBS = ["counting", "figures", "ranking", "engine", "services"]  # each may import only those before it
SCORING = Path(__file__).resolve().parents[2] / "scoring"


def scoring_modules_imported(job):
    """The scoring modules a module of scoring imports, at the top or inside a function."""
    for node in ast.walk(ast.parse((SCORING / f"{job}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "scoring":
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scoring."):
            yield node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            yield from (alias.name.split(".")[1] for alias in node.names if alias.name.startswith("scoring."))


@pytest.mark.parametrize("job", JOBS)
def test_the_jobs_import_one_way(job):
    later = set(JOBS[JOBS.index(job) + 1:])

    assert sorted(set(scoring_modules_imported(job)) & later) == []
    assert set(scoring_modules_imported(job))  # each imports some of scoring (models, formulas…): it reads them
