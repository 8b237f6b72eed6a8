#include "agent/yara/rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/yara/scanner.h"
#include "tests/testing/temp_dir.h"

namespace rampart::yara {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ScopedTempDir;
using testing::WriteTextFile;

std::vector<std::string> RuleNames(const RuleSet& rules, std::string_view data) {
  auto scanner = Scanner::Create(std::shared_ptr<const RuleSet>(&rules, [](const RuleSet*) {}));
  EXPECT_TRUE(scanner.has_value());
  auto matches = (*scanner)->ScanMemory(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  EXPECT_TRUE(matches.has_value());
  std::vector<std::string> names;
  for (const auto& m : *matches) names.push_back(m.rule);
  return names;
}

TEST(RulesTest, BadFileIsReportedWithFileAndLineAndTheRestStillLoads) {
  ScopedTempDir dir("rules");
  WriteTextFile(dir.File("rules/a_good.yar"), "rule good_a { strings: $a = \"alpha\" condition: $a }\n");
  WriteTextFile(dir.File("rules/b_bad.yar"), "rule ok_before { condition: true }\n\nrule broken {\n  condition: $nope\n}\n");
  WriteTextFile(dir.File("rules/c_good.yara"), "rule good_c { strings: $c = \"gamma\" condition: $c }\n");
  WriteTextFile(dir.File("rules/readme.txt"), "not a rule file");
  auto r = CompileRules({.sources = {dir.File("rules")}});
  ASSERT_TRUE(r.has_value()) << r.error();
  ASSERT_EQ(r->rejected_files.size(), 1u);
  EXPECT_EQ(r->rejected_files[0], dir.File("rules/b_bad.yar"));
  EXPECT_EQ(r->loaded_files.size(), 2u);
  ASSERT_FALSE(r->diagnostics.empty());
  EXPECT_EQ(r->diagnostics[0].file, dir.File("rules/b_bad.yar"));
  // The line YARA reports (the yara CLI prints "b_bad.yar(5)"): where the rule ends.
  EXPECT_EQ(r->diagnostics[0].line, 5);
  EXPECT_THAT(r->diagnostics[0].text, HasSubstr(dir.File("rules/b_bad.yar") + ":5: rule \"broken\": "));
  EXPECT_THAT(r->diagnostics[0].text, HasSubstr("$nope"));
  EXPECT_THAT(RuleNames(*r->rules, "alpha and gamma"), ElementsAre("good_a", "good_c"));
}

TEST(RulesTest, SyntaxErrorNamesTheLine) {
  ScopedTempDir dir("rules");
  WriteTextFile(dir.File("x.yar"), "rule a { condition: true }\nrule b {\n  strings: $s = \"unterminated\n  condition: $s\n}\n");
  auto r = CompileRules({.sources = {dir.File("x.yar")}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("no usable YARA rule file"));
  EXPECT_THAT(r.error().message(), HasSubstr(dir.File("x.yar") + ":4: rule \"b\": unterminated string"));
}

TEST(RulesTest, IncludesExternalsAndNamespaces) {
  ScopedTempDir dir("rules");
  WriteTextFile(dir.File("inc/common.yar"), "rule included { strings: $i = \"inc\" condition: $i }\n");
  WriteTextFile(dir.File("main.yar"),
                "include \"inc/common.yar\"\n"
                "rule uses_external { condition: included and ext_flag and ext_count > 2 and ext_name == \"web\" }\n");
  auto r = CompileRules({.sources = {"websrv:" + dir.File("main.yar")},
                         .externals = {{"ext_flag", "true"}, {"ext_count", "3"}, {"ext_name", "\"web\""}}});
  ASSERT_TRUE(r.has_value()) << r.error();
  auto scanner = Scanner::Create(r->rules);
  ASSERT_TRUE(scanner.has_value());
  std::string data = "an inc here";
  auto m = (*scanner)->ScanMemory(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[1].rule, "uses_external");
  EXPECT_EQ((*m)[1].ns, "websrv");
}

TEST(RulesTest, UndefinedExternalIsAnErrorNamingIt) {
  ScopedTempDir dir("rules");
  WriteTextFile(dir.File("x.yar"), "rule x { condition: filename == \"a\" }\n");
  auto r = CompileRules({.sources = {dir.File("x.yar")}});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("filename"));
}

TEST(RulesTest, VersionChangesWithAnIncludedFile) {
  ScopedTempDir dir("rules");
  WriteTextFile(dir.File("inc.yar"), "rule inc { strings: $a = \"one\" condition: $a }\n");
  WriteTextFile(dir.File("main.yar"), "include \"inc.yar\"\nrule main { condition: inc }\n");
  auto first = CompileRules({.sources = {dir.File("main.yar")}});
  auto again = CompileRules({.sources = {dir.File("main.yar")}});
  ASSERT_TRUE(first.has_value() && again.has_value());
  EXPECT_EQ(first->rules->version(), again->rules->version());
  EXPECT_EQ(first->rules->version().size(), 64u);
  WriteTextFile(dir.File("inc.yar"), "rule inc { strings: $a = \"two\" condition: $a }\n");
  auto changed = CompileRules({.sources = {dir.File("main.yar")}});
  ASSERT_TRUE(changed.has_value());
  EXPECT_NE(first->rules->version(), changed->rules->version());
  auto other_externals = CompileRules({.sources = {dir.File("main.yar")}, .externals = {{"x", "1"}}});
  ASSERT_TRUE(other_externals.has_value());
  EXPECT_NE(changed->rules->version(), other_externals->rules->version());
}

TEST(RulesTest, MissingSourceAndEmptyFolder) {
  ScopedTempDir dir("rules");
  auto missing = CompileRules({.sources = {dir.File("absent.yar")}});
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message(), HasSubstr("absent.yar: no such rule file or folder"));
  std::filesystem::create_directories(dir.File("empty"));
  auto empty = CompileRules({.sources = {dir.File("empty")}});
  ASSERT_FALSE(empty.has_value());
  EXPECT_THAT(empty.error().message(), HasSubstr("holds no .yar or .yara file"));
}

TEST(RulesTest, WarningsAreReportedAndCanRejectAFile) {
  ScopedTempDir dir("rules");
  // A string that is one byte long slows scanning down: yara warns.
  WriteTextFile(dir.File("slow.yar"), "rule slow { strings: $a = { 41 } condition: $a }\n");
  WriteTextFile(dir.File("fine.yar"), "rule fine { condition: true }\n");
  auto lenient = CompileRules({.sources = {dir.File("slow.yar"), dir.File("fine.yar")}});
  ASSERT_TRUE(lenient.has_value()) << lenient.error();
  ASSERT_FALSE(lenient->diagnostics.empty());
  EXPECT_EQ(lenient->diagnostics[0].level, Diagnostic::Level::kWarning);
  EXPECT_THAT(lenient->diagnostics[0].text, HasSubstr("slow.yar:1: warning: "));
  auto strict = CompileRules({.sources = {dir.File("slow.yar"), dir.File("fine.yar")}, .fail_on_warnings = true});
  ASSERT_TRUE(strict.has_value());
  EXPECT_THAT(strict->rejected_files, ElementsAre(dir.File("slow.yar")));
}

TEST(RulesTest, FromStringReportsErrorsUnderItsName) {
  auto bad = CompileRulesFromString("rule x { condition: nope }", "network-rules");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().message(), HasSubstr("network-rules:1: "));
  auto good = CompileRulesFromString("rule y : web { meta: severity = 3 strings: $a = \"evil\" condition: $a }", "n");
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->rules->rule_count(), 1u);
}

}  // namespace
}  // namespace rampart::yara
