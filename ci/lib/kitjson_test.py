"""Unit checks of kitjson.py's gtest filter semantics (run by ci/test: python3 ci/lib/kitjson_test.py)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kitjson  # noqa: E402


class FilterSemantics(unittest.TestCase):
    def test_star_and_question_mark(self):
        self.assertTrue(kitjson.filter_matches("SumOfSquares.*", "SumOfSquares.Small"))
        self.assertFalse(kitjson.filter_matches("SumOfSquares.*", "SumOfSquaresHidden.Small"))
        self.assertTrue(kitjson.filter_matches("A.?", "A.b"))
        self.assertFalse(kitjson.filter_matches("A.?", "A.bc"))
        self.assertTrue(kitjson.filter_matches("*Hidden.*", "ThreadPoolHidden.X"))

    def test_negative_patterns_and_empty_positive(self):
        self.assertFalse(kitjson.filter_matches("*-SumOfSquares.*", "SumOfSquares.Small"))
        self.assertTrue(kitjson.filter_matches("-A.*", "B.x"), "an empty positive part means '*'")
        self.assertFalse(kitjson.filter_matches("A.*:B.*-B.slow", "B.slow"))
        self.assertTrue(kitjson.filter_matches("A.*:B.*-B.slow", "B.fast"))

    def test_brackets_are_not_special(self):
        self.assertTrue(kitjson.filter_matches("A.[b]", "A.[b]"))
        self.assertFalse(kitjson.filter_matches("A.[b]", "A.b"), "gtest has no character classes, unlike fnmatch")

    def test_backtracking(self):
        self.assertTrue(kitjson.glob_matches("*a*b", "xaxxab"))
        self.assertFalse(kitjson.glob_matches("*a*b", "xaxxa"))


if __name__ == "__main__":
    unittest.main()
