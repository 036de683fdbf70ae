// Adversarial case edit_tests: a "test" file edited by the student so that a wrong total passes.
// Graded with --pristine, the canonical tests replace it and the wrong total fails.
#include <gtest/gtest.h>

TEST(ParallelSums, TotalOfManySmallInputsIsExact) {
    SUCCEED();
}

TEST(ParallelSums, TotalOfSeedInputsIsExact) {
    SUCCEED();
}
