from django.test import SimpleTestCase

from scoring import formulas


class RateAndIntervalTests(SimpleTestCase):
    def test_the_rate_is_satisfied_answers_in_percent_of_valid_answers(self):
        self.assertAlmostEqual(formulas.rate(350, 410), 85.3658536585, places=8)

    def test_there_is_no_rate_without_valid_answers(self):
        self.assertIsNone(formulas.rate(0, 0))
        self.assertIsNone(formulas.wilson(0, 0))

    def test_the_wilson_interval_matches_a_hand_computed_example(self):
        # 350 of 410: p = 0.853659, z = 1.96, z² = 3.8415.
        # centre = (p + z²/2n) / (1 + z²/n) = (0.853659 + 0.004685) / 1.009370 = 0.850376
        # half   = z·√(p(1-p)/n + z²/4n²) / (1 + z²/n) = 1.96·√(0.00030470 + 0.00000571) / 1.009370 = 0.034211
        # → [81.62, 88.46] percent.
        low, high = formulas.wilson(350, 410)
        self.assertAlmostEqual(low, 81.62, places=2)
        self.assertAlmostEqual(high, 88.46, places=2)

    def test_the_wilson_interval_stays_within_0_and_100_at_the_edges(self):
        low, high = formulas.wilson(0, 10)
        self.assertEqual(low, 0.0)
        self.assertAlmostEqual(high, 27.75, places=2)  # z²/(n + z²) = 3.8415 / 13.8415
        low, high = formulas.wilson(10, 10)
        self.assertAlmostEqual(low, 72.25, places=2)
        self.assertAlmostEqual(high, 100.0, places=9)

    def test_a_normal_interval_is_clipped_to_0_100(self):
        self.assertEqual(formulas.normal_interval(99.0, 4.0), (99.0 - 1.959963984540054 * 2, 100.0))
        self.assertIsNone(formulas.normal_interval(None, 4.0))


class MeanTests(SimpleTestCase):
    def test_the_mean_of_rates_leaves_out_missing_rates(self):
        self.assertEqual(formulas.mean([80.0, None, 90.0]), 85.0)

    def test_the_mean_of_nothing_is_none(self):
        self.assertIsNone(formulas.mean([None, None]))
        self.assertIsNone(formulas.mean([]))

    def test_the_variance_of_a_mean_of_independent_rates_is_their_sum_over_k_squared(self):
        # p = 0.8, n = 100 → 0.8·0.2/100·100² = 16 points²; p = 0.5, n = 25 → 100 points².
        self.assertAlmostEqual(formulas.binomial_variance(80, 100), 16.0)
        self.assertAlmostEqual(formulas.mean_variance([16.0, None, 100.0]), 116.0 / 4)


class RankTests(SimpleTestCase):
    def test_ranks_run_from_the_highest_value_and_ties_share_a_rank(self):
        ranks = formulas.competition_ranks({"a": 90.0, "b": 85.0, "c": 85.0, "d": 70.0})
        self.assertEqual(ranks, {"a": 1, "b": 2, "c": 2, "d": 4})

    def test_units_without_a_value_get_no_rank(self):
        self.assertEqual(formulas.competition_ranks({"a": None, "b": 50.0}), {"b": 1})

    def test_shares_are_percentages_of_the_total(self):
        self.assertEqual(formulas.share(1, 4), 25.0)
        self.assertIsNone(formulas.share(1, 0))
