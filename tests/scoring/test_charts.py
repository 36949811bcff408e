"""Server-side SVG charts: scalable, accessible, escaped, readable without colour."""

import re
import xml.etree.ElementTree as ET

from django.test import SimpleTestCase
from django.utils import translation
from django.utils.safestring import SafeString

from scoring.charts import bar_chart_svg, trend_chart_svg

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg):
    return ET.fromstring(str(svg))


def texts(svg):
    return ["".join(t.itertext()) for t in parse(svg).iter(f"{SVG}text")]


FACTORS = [
    {"label": "Access to the service", "value": 84.25, "marker": 90.0, "muted": False},
    {"label": "Procedures", "value": 61.0, "marker": None, "muted": False},
]


class BarChartTests(SimpleTestCase):
    def setUp(self):
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def test_it_is_a_safe_scalable_svg_with_a_title_and_an_image_role(self):
        svg = bar_chart_svg(FACTORS, title="Factor indices")

        self.assertIsInstance(svg, SafeString)
        root = parse(svg)
        self.assertRegex(root.get("viewBox"), r"^0 0 \d+ \d+$")
        self.assertEqual((root.get("role"), root.get("aria-label")), ("img", "Factor indices"))
        self.assertEqual(root.get("width"), "100%")
        self.assertEqual(root.find(f"{SVG}title").text, "Factor indices")

    def test_every_value_and_marker_is_written_as_text_and_described(self):
        svg = bar_chart_svg(FACTORS, title="Factor indices")

        written = texts(svg)
        self.assertIn("84.3%", written)  # one decimal, rounded half up as the tables show it
        self.assertIn("61.0%", written)
        self.assertIn("▏90.0%", written)  # the marker's value, under the bar's
        self.assertTrue(any("“in general”" in t for t in written))  # and the legend saying what it is
        self.assertIn("Access to the service: 84.3% (in general 90.0%)", parse(svg).find(f"{SVG}desc").text)

    def test_bar_lengths_are_proportional_to_the_values(self):
        root = parse(bar_chart_svg([{"label": "a", "value": 100}, {"label": "b", "value": 25}]))
        bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") not in ("none", "#fff")]

        self.assertEqual(len(bars), 2)
        self.assertAlmostEqual(float(bars[1].get("width")) * 4, float(bars[0].get("width")), delta=0.5)

    def test_labels_are_escaped(self):
        svg = bar_chart_svg([{"label": '<script>alert("x")</script> & co', "value": 50}], title="<b>t</b>")

        self.assertNotIn("<script>", svg)
        self.assertNotIn("<b>", svg)
        self.assertIn("&lt;script&gt;", svg)
        self.assertIn('<script>alert("x")</script> & co', texts(svg)[0])  # reads back as written

    def test_a_row_without_a_value_gets_no_bar_but_its_reason(self):
        reason = "28 responses, fewer than the 30 needed"
        root = parse(bar_chart_svg([{"label": "Xã A", "value": None, "muted": True, "note": reason}]))

        self.assertEqual([r for r in root.iter(f"{SVG}rect") if r.get("fill") not in ("none", "#fff")], [])
        self.assertIn(reason, texts(bar_chart_svg([{"label": "Xã A", "value": None, "muted": True, "note": reason}])))

    def test_a_muted_bar_is_hatched_and_dashed_not_only_a_different_colour(self):
        svg = str(bar_chart_svg([{"label": "a", "value": 40, "muted": True}]))

        self.assertRegex(svg, r'fill="url\(#score-hatch-\d+\)"')
        self.assertIn('stroke-dasharray="3 2"', svg)
        self.assertIn('font-style="italic"', svg)

    def test_values_are_rounded_as_the_tables_round_them_not_cut_off(self):
        self.assertIn("76.2%", texts(bar_chart_svg([{"label": "a", "value": 131 / 172 * 100}])))  # 76.16…
        self.assertIn("0.1%", texts(bar_chart_svg([{"label": "a", "value": 0.05}])))
        self.assertIn("76.2%", texts(trend_chart_svg([{"label": "a", "value": 76.16279}])))

    def test_numbers_follow_the_language(self):
        with translation.override("vi"):
            self.assertIn("84,3%", texts(bar_chart_svg(FACTORS)))

    def test_long_labels_wrap_onto_two_lines_and_keep_their_full_text_as_tooltip(self):
        label = "Receiving and handling feedback, complaints and petitions from citizens and organisations " * 2
        root = parse(bar_chart_svg([{"label": label, "value": 50}]))

        lines = [t for t in texts(bar_chart_svg([{"label": label, "value": 50}])) if t != "50.0%"]
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[1].endswith("…"))
        self.assertEqual(root.find(f"{SVG}g/{SVG}title").text, label)

    def test_no_rows_still_gives_a_valid_chart(self):
        self.assertIn("No figures.", texts(bar_chart_svg([])))


class TrendChartTests(SimpleTestCase):
    POINTS = [
        {"label": "Quý I/2026", "value": 80.0, "muted": False},
        {"label": "Quý II/2026", "value": None, "muted": True, "note": "too few"},
        {"label": "Quý III/2026", "value": 85.5, "muted": False},
        {"label": "Quý IV/2026", "value": 70.0, "muted": True},
    ]

    def setUp(self):
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def test_it_is_a_scalable_accessible_svg(self):
        root = parse(trend_chart_svg(self.POINTS, title="SIPAS index by round"))

        self.assertTrue(root.get("viewBox"))
        self.assertEqual(root.get("role"), "img")
        self.assertEqual(root.find(f"{SVG}title").text, "SIPAS index by round")

    def test_each_round_is_labelled_and_each_value_written(self):
        written = texts(trend_chart_svg(self.POINTS))

        for expected in ("Quý I/2026", "Quý III/2026", "80.0%", "85.5%", "70.0%", "too few"):
            self.assertIn(expected, written)

    def test_a_missing_value_breaks_the_line_and_a_muted_point_is_hollow_and_dashed(self):
        svg = str(trend_chart_svg(self.POINTS))
        root = parse(svg)

        circles = list(root.iter(f"{SVG}circle"))
        self.assertEqual(len(circles), 3)
        self.assertEqual(circles[2].get("fill"), "#fff")  # the muted point
        segments = [line for line in root.iter(f"{SVG}line") if line.get("stroke-width") == "2"]
        self.assertEqual(len(segments), 1)  # III → IV only: II has no value
        self.assertEqual(segments[0].get("stroke-dasharray"), "5 4")

    def test_higher_values_are_drawn_higher(self):
        circles = list(parse(trend_chart_svg(self.POINTS)).iter(f"{SVG}circle"))

        self.assertLess(float(circles[1].get("cy")), float(circles[0].get("cy")))  # 85.5 above 80

    def test_labels_are_escaped(self):
        svg = trend_chart_svg([{"label": "<img src=x onerror=alert(1)>", "value": 50}])

        self.assertNotIn("<img", svg)
        self.assertTrue(re.search("&lt;img", str(svg)))
