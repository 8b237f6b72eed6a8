#include "agent/yara/file_scan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "agent/yara/rules.h"
#include "agent/yara/scan_cache.h"
#include "tests/testing/temp_dir.h"

namespace rampart::yara {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using testing::ScopedTempDir;
using testing::WriteTextFile;

constexpr const char* kRules =
    "rule webshell : web { meta: author = \"rampart\" severity = 7 confirmed = true\n"
    "  strings: $a = \"eval(base64_decode(\" condition: $a }\n"
    "rule miner { strings: $p = \"stratum+tcp://\" condition: $p }\n";

class FileScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = CompileRulesFromString(kRules, "test");
    ASSERT_TRUE(r.has_value()) << r.error();
    rules_ = r->rules;
    WriteTextFile(dir_.File("tree/shell.php"), "<?php eval(base64_decode($_POST['x'])); ?>");
    WriteTextFile(dir_.File("tree/sub/miner.sh"), "./xmrig -o stratum+tcp://pool.example:3333");
    WriteTextFile(dir_.File("tree/sub/clean.txt"), "nothing to see");
    WriteTextFile(dir_.File("outside/target.php"), "eval(base64_decode(");
  }

  std::map<std::string, FileResult> Run(const FileScanOptions& options, std::vector<std::string> roots,
                                        ScanSummary* summary = nullptr) {
    FileScan scan(rules_, options);
    std::map<std::string, FileResult> results;
    auto s = scan.Run(roots, [&](const FileResult& r) { results[r.path] = r; });
    EXPECT_TRUE(s.has_value());
    if (summary && s) *summary = *s;
    return results;
  }

  ScopedTempDir dir_{"filescan"};
  std::shared_ptr<const RuleSet> rules_;
};

TEST_F(FileScanTest, ReportsRuleNamespaceTagsMetaAndOffsets) {
  FileScanOptions options;
  options.threads = 2;
  options.report_strings = true;
  ScanSummary summary;
  auto results = Run(options, {dir_.File("tree")}, &summary);
  const std::string shell = dir_.File("tree") + "/shell.php";
  ASSERT_TRUE(results.count(shell));
  const RuleMatch& m = results[shell].matches.at(0);
  EXPECT_EQ(m.rule, "webshell");
  EXPECT_EQ(m.ns, "default");
  EXPECT_THAT(m.tags, UnorderedElementsAre("web"));
  ASSERT_EQ(m.meta.size(), 3u);
  EXPECT_EQ(m.meta[0].key, "author");
  EXPECT_EQ(m.meta[0].string_value, "rampart");
  EXPECT_EQ(m.meta[1].type, MetaValue::Type::kInteger);
  EXPECT_EQ(m.meta[1].integer_value, 7);
  EXPECT_EQ(m.meta[2].type, MetaValue::Type::kBoolean);
  ASSERT_EQ(m.strings.size(), 1u);
  EXPECT_EQ(m.strings[0].identifier, "$a");
  EXPECT_EQ(m.strings[0].offset, 6u);
  EXPECT_EQ(m.strings[0].length, 19u);
  EXPECT_EQ(results[dir_.File("tree") + "/sub/miner.sh"].matches.at(0).rule, "miner");
  EXPECT_EQ(summary.files_seen, 3u);
  EXPECT_EQ(summary.files_scanned, 3u);
  EXPECT_EQ(summary.files_matched, 2u);
  EXPECT_EQ(summary.errors, 0u);
  EXPECT_FALSE(summary.stopped);
}

TEST_F(FileScanTest, SymlinksAreNotFollowedUnlessAsked) {
  ASSERT_EQ(::symlink(dir_.File("outside/target.php").c_str(), dir_.File("tree/link.php").c_str()), 0);
  ASSERT_EQ(::symlink(dir_.File("outside").c_str(), dir_.File("tree/linkdir").c_str()), 0);
  auto results = Run({}, {dir_.File("tree")});
  const std::string link = dir_.File("tree") + "/link.php";
  ASSERT_TRUE(results.count(link));
  EXPECT_EQ(results[link].outcome, FileResult::Outcome::kSkipped);
  EXPECT_EQ(results[link].reason, "symlink not followed");
  EXPECT_FALSE(results.count(dir_.File("tree") + "/linkdir/target.php"));

  FileScanOptions follow;
  follow.follow_symlinks = true;
  auto followed = Run(follow, {dir_.File("tree")});
  EXPECT_EQ(followed[link].matches.at(0).rule, "webshell");
  EXPECT_EQ(followed[dir_.File("tree") + "/linkdir/target.php"].matches.at(0).rule, "webshell");
}

TEST_F(FileScanTest, SpecialFilesAreSkippedNotOpened) {
  // Opening a FIFO for reading would block the scan forever.
  ASSERT_EQ(::mkfifo(dir_.File("tree/pipe").c_str(), 0600), 0);
  ScanSummary summary;
  auto results = Run({}, {dir_.File("tree")}, &summary);
  const std::string pipe = dir_.File("tree") + "/pipe";
  ASSERT_TRUE(results.count(pipe));
  EXPECT_EQ(results[pipe].outcome, FileResult::Outcome::kSkipped);
  EXPECT_EQ(results[pipe].reason, "not scanned: fifo");
  EXPECT_EQ(summary.files_matched, 2u);
}

TEST_F(FileScanTest, SizeLimitAndExcludes) {
  WriteTextFile(dir_.File("tree/big.bin"), std::string(4096, 'A') + "stratum+tcp://");
  FileScanOptions options;
  options.max_file_size = 1024;
  options.excludes = {"*/sub"};
  ScanSummary summary;
  auto results = Run(options, {dir_.File("tree")}, &summary);
  const std::string big = dir_.File("tree") + "/big.bin";
  EXPECT_EQ(results[big].outcome, FileResult::Outcome::kSkipped);
  EXPECT_EQ(results[big].reason, "larger than 1024 bytes");
  EXPECT_FALSE(results.count(dir_.File("tree") + "/sub/miner.sh"));
  EXPECT_EQ(summary.files_matched, 1u);
}

TEST_F(FileScanTest, MissingPathIsAnErrorAndTheScanGoesOn) {
  ScanSummary summary;
  auto results = Run({}, {dir_.File("absent"), dir_.File("tree")}, &summary);
  ASSERT_TRUE(results.count(dir_.File("absent")));
  EXPECT_EQ(results[dir_.File("absent")].outcome, FileResult::Outcome::kError);
  EXPECT_THAT(results[dir_.File("absent")].reason, HasSubstr("cannot access"));
  EXPECT_EQ(summary.errors, 1u);
  EXPECT_EQ(summary.files_matched, 2u);
}

TEST_F(FileScanTest, CacheSkipsUnchangedFilesAndRescansChangedOnes) {
  auto cache = ScanCache::Open(dir_.File("cache"));
  ASSERT_TRUE(cache.has_value()) << cache.error();
  ASSERT_TRUE((*cache)->UseRulesVersion(rules_->version()).ok());
  FileScanOptions options;
  options.cache = cache->get();
  options.report_clean = true;
  ScanSummary first, second, third;
  Run(options, {dir_.File("tree")}, &first);
  EXPECT_EQ(first.files_scanned, 3u);
  EXPECT_EQ(first.files_cached, 0u);
  auto again = Run(options, {dir_.File("tree")}, &second);
  EXPECT_EQ(second.files_scanned, 0u);
  EXPECT_EQ(second.files_cached, 3u);
  // Cached results carry the stored matches.
  EXPECT_EQ(again[dir_.File("tree") + "/shell.php"].outcome, FileResult::Outcome::kCached);
  EXPECT_EQ(again[dir_.File("tree") + "/shell.php"].matches.at(0).rule, "webshell");
  EXPECT_EQ(second.files_matched, 2u);
  // A changed file is scanned again (a webshell cleaned up, a clean file infected).
  WriteTextFile(dir_.File("tree/shell.php"), "<?php echo 'fixed'; ?>");
  WriteTextFile(dir_.File("tree/sub/clean.txt"), "now with stratum+tcp://x");
  auto changed = Run(options, {dir_.File("tree")}, &third);
  EXPECT_EQ(third.files_scanned, 2u);
  EXPECT_EQ(third.files_cached, 1u);
  EXPECT_TRUE(changed[dir_.File("tree") + "/shell.php"].matches.empty());
  EXPECT_EQ(changed[dir_.File("tree") + "/sub/clean.txt"].matches.at(0).rule, "miner");
  // New rules: every record is stale.
  auto other = CompileRulesFromString(std::string(kRules) + "rule extra { condition: false }", "test");
  ASSERT_TRUE(other.has_value());
  ASSERT_TRUE((*cache)->UseRulesVersion(other->rules->version()).ok());
  FileScan rescan(other->rules, options);
  auto s = rescan.Run({dir_.File("tree")}, nullptr);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->files_scanned, 3u);
  EXPECT_EQ(s->files_cached, 0u);
}

TEST_F(FileScanTest, StopAndPauseAreReported) {
  for (int i = 0; i < 200; ++i) WriteTextFile(dir_.File("many/f" + std::to_string(i)), std::string(20000, 'x'));
  FileScanOptions options;
  options.max_bytes_per_second = 100000;  // ~5 files a second: the scan is still running below.
  FileScan scan(rules_, options);
  std::thread controller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    scan.Pause("outside scan window");
    EXPECT_TRUE(scan.paused());
    EXPECT_EQ(scan.pause_reason(), "outside scan window");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    scan.Resume();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    scan.Stop("agent stopping");
  });
  auto s = scan.Run({dir_.File("many")}, nullptr);
  controller.join();
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->stopped);
  EXPECT_EQ(s->stop_reason, "agent stopping");
  EXPECT_LT(s->files_scanned, 200u);
  EXPECT_GE(s->paused.count(), 250);
}

TEST_F(FileScanTest, RateCapSlowsTheScan) {
  WriteTextFile(dir_.File("rate/a"), std::string(1 << 20, 'a'));
  WriteTextFile(dir_.File("rate/b"), std::string(1 << 20, 'b'));
  FileScanOptions options;
  options.max_bytes_per_second = 1 << 20;  // The first MiB is the burst; the second waits ~1 s.
  ScanSummary summary;
  Run(options, {dir_.File("rate")}, &summary);
  EXPECT_EQ(summary.files_scanned, 2u);
  EXPECT_GE(summary.elapsed.count(), 800);
}

TEST(ThreadBudgetTest, BadIoniceIsRejected) {
  Status s = ApplyThreadBudget(0, "fastest");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("idle, best-effort"));
}

}  // namespace
}  // namespace rampart::yara

namespace rampart::yara {
namespace {

TEST(CompiledRulesCacheTest, UnchangedRulesLoadFromTheCacheAndAnyChangeRecompiles) {
  ScopedTempDir dir("rulecache");
  WriteTextFile(dir.File("rules/inc/common.yar"), "rule included { strings: $a = \"one\" condition: $a }\n");
  WriteTextFile(dir.File("rules/main.yar"), "include \"inc/common.yar\"\nrule main { condition: included }\n");
  WriteTextFile(dir.File("rules/bad.yar"), "rule bad { condition: nope }\n");
  auto cache = ScanCache::Open(dir.File("cache"));
  ASSERT_TRUE(cache.has_value());
  CompileOptions options{.sources = {dir.File("rules/main.yar"), dir.File("rules/bad.yar")}};
  bool hit = true;
  auto first = (*cache)->CompileRules(options, &hit);
  ASSERT_TRUE(first.has_value()) << first.error();
  EXPECT_FALSE(hit);
  ASSERT_EQ(first->inputs.size(), 3u);  // main.yar, bad.yar and the included file.
  auto second = (*cache)->CompileRules(options, &hit);
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(hit);
  EXPECT_EQ(second->rules->version(), first->rules->version());
  EXPECT_EQ(second->rules->rule_count(), first->rules->rule_count());
  ASSERT_EQ(second->diagnostics.size(), first->diagnostics.size());  // The bad file is still reported.
  EXPECT_EQ(second->diagnostics[0].text, first->diagnostics[0].text);
  auto scanner = Scanner::Create(second->rules);
  ASSERT_TRUE(scanner.has_value());
  const std::string data = "one";
  auto m = (*scanner)->ScanMemory(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), 3));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->size(), 2u);
  // An included file changes: compiled again, new version.
  WriteTextFile(dir.File("rules/inc/common.yar"), "rule included { strings: $a = \"two\" condition: $a }\n");
  auto third = (*cache)->CompileRules(options, &hit);
  ASSERT_TRUE(third.has_value());
  EXPECT_FALSE(hit);
  EXPECT_NE(third->rules->version(), first->rules->version());
  // A new file in a folder source: compiled again.
  CompileOptions folder{.sources = {dir.File("rules/inc")}};
  ASSERT_TRUE((*cache)->CompileRules(folder, &hit).has_value());
  ASSERT_TRUE((*cache)->CompileRules(folder, &hit).has_value());
  EXPECT_TRUE(hit);
  WriteTextFile(dir.File("rules/inc/more.yar"), "rule more { condition: false }\n");
  auto grown = (*cache)->CompileRules(folder, &hit);
  ASSERT_TRUE(grown.has_value());
  EXPECT_FALSE(hit);
  EXPECT_EQ(grown->rules->rule_count(), 2u);
}

}  // namespace
}  // namespace rampart::yara
