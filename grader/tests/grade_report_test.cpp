// kit-grade's reports: Gradescope results.json keys, well-formed JUnit XML, Markdown, annotation
// cap.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "grade/report.hpp"
#include "grade/util.hpp"

namespace {

using kit::grade::Finding;
using kit::grade::GradeResult;
using kit::grade::ItemResult;
using kit::grade::Owner;
using nlohmann::json;

GradeResult sample(int findings) {
    GradeResult r;
    r.lesson = "lesson7";
    r.impl = "starter";
    r.variants = {"plain", "asan", "tsan"};
    for (int i = 0; i < 2; ++i) {
        ItemResult it;
        it.item.name = i == 0 ? "sum_of_squares" : "parallel_sum";
        it.item.task = "7.1";
        it.item.points = 10;
        it.item.visibility = i == 0 ? "public" : "hidden";
        it.passed = i == 0;
        it.score = i == 0 ? 10 : 0;
        for (const char* v : {"plain", "asan", "tsan"}) {
            kit::grade::VariantOutcome o;
            o.variant = v;
            o.state = i == 0 ? kit::grade::OutcomeState::pass : kit::grade::OutcomeState::fail;
            o.reason = "expected <3> & got \"4\"\x01";
            o.excerpt = "[ RUN      ] A.B\n<failure> & more\n";
            o.reproduce = "cd build/starter-tsan && ./lesson7-hidden-tests --gtest_filter='A.*'";
            it.outcomes.push_back(o);
        }
        r.items.push_back(it);
    }
    r.score = 10;
    r.max_score = 20;
    for (int i = 0; i < findings; ++i) {
        Finding f;
        f.tool = i % 2 == 0 ? "tsan" : "tidy";
        f.kind = "data-race";
        f.message = "race, on 'x': 100%";
        f.file = i < 3 ? "lessons/lesson7/lib/provided.cpp" : "lessons/lesson7/src/sum_squares.cpp";
        f.line = i + 1;
        f.owner = i < 3 ? Owner::provided : Owner::student;
        f.signature = "sig" + std::to_string(i);
        r.findings.push_back(f);
    }
    return r;
}

TEST(GradeReport, ResultsJsonHasGradescopeKeys) {
    json j = json::parse(kit::grade::render_results_json(sample(4)));
    EXPECT_EQ(j["score"], 10);
    EXPECT_EQ(j["max_score"], 20);
    ASSERT_EQ(j["tests"].size(), 2U);
    for (const char* key :
         {"name", "score", "max_score", "status", "output", "visibility", "tags"}) {
        EXPECT_TRUE(j["tests"][0].contains(key)) << "missing tests[]." << key;
    }
    EXPECT_EQ(j["tests"][0]["status"], "passed");
    EXPECT_EQ(j["tests"][1]["status"], "failed");
    EXPECT_EQ(j["tests"][1]["visibility"], "after_due_date")
        << "hint: hidden items are not shown before the due date";
    EXPECT_EQ(j["extra_data"]["findings"]["student"].size(), 1U);
    EXPECT_EQ(j["extra_data"]["findings"]["instructor"].size(), 3U);
}

// A small well-formedness check: balanced tags, quoted attributes, only the five predefined
// entities.
bool well_formed_xml(const std::string& x, std::string& why) {
    std::vector<std::string> stack;
    std::size_t i = 0;
    while (i < x.size()) {
        char c = x[i];
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
            why = "control character at " + std::to_string(i);
            return false;
        }
        if (c == '&') {
            std::size_t semi = x.find(';', i);
            std::string ent = x.substr(i, semi - i + 1);
            if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" &&
                ent != "&apos;") {
                why = "bad entity " + ent;
                return false;
            }
            i = semi + 1;
            continue;
        }
        if (c != '<') {
            ++i;
            continue;
        }
        std::size_t end = i + 1;
        char quote = 0;
        while (end < x.size() && (quote != 0 || x[end] != '>')) {
            if (quote == 0 && x[end] == '<') {
                why = "'<' inside a tag at " + std::to_string(end);
                return false;
            }
            if (x[end] == '"' || x[end] == '\'') {
                if (quote == 0) {
                    quote = x[end];
                } else if (quote == x[end]) {
                    quote = 0;
                }
            }
            ++end;
        }
        std::string tag = x.substr(i + 1, end - i - 1);
        i = end + 1;
        if (tag.starts_with("?")) {
            continue;
        }
        if (tag.starts_with("/")) {
            if (stack.empty() || stack.back() != tag.substr(1)) {
                why = "unbalanced </" + tag.substr(1) + ">";
                return false;
            }
            stack.pop_back();
            continue;
        }
        std::string name = tag.substr(0, tag.find_first_of(" /"));
        if (!tag.ends_with("/")) {
            stack.push_back(name);
        }
    }
    if (!stack.empty()) {
        why = "unclosed <" + stack.back() + ">";
    }
    return stack.empty();
}

TEST(GradeReport, JunitIsWellFormedAndCountsFailures) {
    std::string x = kit::grade::render_junit(sample(0));
    std::string why;
    EXPECT_TRUE(well_formed_xml(x, why)) << why << "\n" << x;
    EXPECT_NE(x.find("failures=\"1\""), std::string::npos);
    EXPECT_NE(x.find("<failure "), std::string::npos);
    std::string broken = "<a><b></a>";
    EXPECT_FALSE(well_formed_xml(broken, why)) << "the checker itself must catch mismatched tags";
}

TEST(GradeReport, AnnotationsCappedAtTenStudentFirstOnePerSignature) {
    GradeResult r = sample(15);
    r.findings.push_back(r.findings.back());  // the same signature twice
    std::string a = kit::grade::render_annotations(r, 10);
    auto lines = kit::grade::split_lines(a);
    std::size_t commands = 0;
    for (const auto& l : lines) {
        commands += (l.starts_with("::error") || l.starts_with("::warning")) ? 1 : 0;
    }
    EXPECT_EQ(commands, 10U);
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines[0].find("file=lessons/lesson7/src/sum_squares.cpp"), std::string::npos)
        << "hint: student lines first: " << lines[0];
    EXPECT_NE(lines[0].find("100%25"), std::string::npos) << "hint: % must be escaped";
    EXPECT_NE(a.find("::notice"), std::string::npos) << "hint: say that more findings exist";
    std::string few = kit::grade::render_annotations(sample(2), 10);
    EXPECT_EQ(kit::grade::split_lines(few).size(), 2U);
}

TEST(GradeReport, MarkdownAndTextCarryScoreAndWhereToStart) {
    GradeResult r = sample(4);
    r.start_here = "Start here: task 7.1, item parallel_sum";
    std::string md = kit::grade::render_markdown(r);
    EXPECT_NE(md.find("Score: 10/20"), std::string::npos);
    EXPECT_NE(md.find("Start here"), std::string::npos);
    EXPECT_NE(md.find("Instructor section"), std::string::npos);
    std::string text = kit::grade::render_text(r, false);
    EXPECT_NE(text.find("Score: 10/20"), std::string::npos);
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << "hint: no colour when not asked";
    EXPECT_NE(kit::grade::render_text(r, true).find('\x1b'), std::string::npos);
}

}  // namespace
