#include "common/rocks/rocks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "tests/testing/temp_dir.h"

namespace rampart::rocks {
namespace {

std::string Key(uint64_t n) {
  std::string k;
  AppendBigEndian64(&k, n);
  return k;
}

class RocksTest : public ::testing::Test {
 protected:
  std::unique_ptr<Database> OpenDb(std::vector<std::string> families = {"events", "index"}) {
    auto db = Database::Open({.path = dir_.File("db"), .column_families = std::move(families)});
    EXPECT_TRUE(db.has_value()) << db.error();
    return db ? std::move(*db) : nullptr;
  }
  testing::ScopedTempDir dir_{"rocks"};
};

TEST_F(RocksTest, PutGetDeleteInFamilies) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  auto* events = db->Family("events");
  auto* index = db->Family("index");
  ASSERT_NE(events, nullptr);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(db->Family("nope"), nullptr);
  ASSERT_TRUE(db->Put(events, "k", "v1").ok());
  ASSERT_TRUE(db->Put(index, "k", "other", Durability::kSync).ok());
  EXPECT_EQ(db->Get(events, "k").value(), "v1");
  EXPECT_EQ(db->Get(index, "k").value(), "other");
  ASSERT_TRUE(db->Delete(events, "k").ok());
  EXPECT_EQ(db->Get(events, "k").error().code(), StatusCode::kNotFound);
}

TEST_F(RocksTest, BatchIsAtomicAndScansAreOrdered) {
  auto db = OpenDb();
  auto* events = db->Family("events");
  rocksdb::WriteBatch batch;
  for (uint64_t i = 1; i <= 100; ++i) batch.Put(events, Key(i), "e" + std::to_string(i));
  ASSERT_TRUE(db->Write(batch, Durability::kSync).ok());

  std::vector<uint64_t> seen;
  auto n = db->Scan(events, Key(10), Key(20), [&](std::string_view k, std::string_view) {
    seen.push_back(ReadBigEndian64(k));
    return true;
  });
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 10u);
  EXPECT_EQ(seen.front(), 10u);
  EXPECT_EQ(seen.back(), 19u);

  seen.clear();
  ASSERT_TRUE(db->ScanReverse(events, Key(0), Key(20), [&](std::string_view k, std::string_view) {
                  seen.push_back(ReadBigEndian64(k));
                  return true;
                }, 3).has_value());
  EXPECT_EQ(seen, (std::vector<uint64_t>{19, 18, 17}));

  ASSERT_TRUE(db->DeleteRange(events, Key(1), Key(51)).ok());
  uint64_t count = 0;
  ASSERT_TRUE(db->Scan(events, "", "", [&](std::string_view, std::string_view) { return ++count, true; }).has_value());
  EXPECT_EQ(count, 50u);
}

TEST_F(RocksTest, SortedInsertFamiliesTakeAnyOrderAndRefuseDeleteRange) {
  auto db = Database::Open({.path = dir_.File("db"), .column_families = {"events", "links"},
                            .sorted_insert_families = {"events"}});
  ASSERT_TRUE(db.has_value()) << db.error();
  auto* events = (*db)->Family("events");
  auto* links = (*db)->Family("links");
  // Batches sorted within themselves, interleaved with each other, plus one
  // in reverse order: the hint is only a starting point.
  for (uint64_t round = 0; round < 4; ++round) {
    rocksdb::WriteBatch batch;
    for (uint64_t i = round; i < 400; i += 4) batch.Put(events, Key(i), "e" + std::to_string(i));
    ASSERT_TRUE((*db)->Write(batch).ok());
  }
  rocksdb::WriteBatch reverse;
  for (uint64_t i = 500; i-- > 400;) reverse.Put(events, Key(i), "e" + std::to_string(i));
  ASSERT_TRUE((*db)->Write(reverse).ok());
  std::vector<uint64_t> seen;
  ASSERT_TRUE((*db)->Scan(events, "", "", [&](std::string_view k, std::string_view v) {
    seen.push_back(ReadBigEndian64(k));
    EXPECT_EQ(v, "e" + std::to_string(seen.back()));
    return true;
  }).has_value());
  ASSERT_EQ(seen.size(), 500u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), 499u);
  // RocksDB 7.8 shares one memtable hint between point and range-tombstone
  // inserts: a range delete there is refused, and elsewhere it works.
  Status refused = (*db)->DeleteRange(events, Key(0), Key(10));
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), ::testing::HasSubstr("'events'"));
  ASSERT_TRUE((*db)->Put(links, Key(1), "l").ok());
  ASSERT_TRUE((*db)->Put(links, Key(2), "l").ok());
  EXPECT_TRUE((*db)->DeleteRange(links, Key(0), Key(2)).ok());
  EXPECT_FALSE((*db)->Get(links, Key(1)).has_value());
  EXPECT_TRUE((*db)->Get(links, Key(2)).has_value());
  EXPECT_TRUE((*db)->Get(events, Key(5)).has_value());
}

TEST_F(RocksTest, ReopenKeepsDataAndUnlistedFamilies) {
  {
    auto db = OpenDb({"events", "extra"});
    ASSERT_TRUE(db->Put(db->Family("extra"), "a", "b").ok());
  }
  auto db = OpenDb({"events"});
  ASSERT_NE(db->Family("extra"), nullptr);
  EXPECT_EQ(db->Get(db->Family("extra"), "a").value(), "b");
}

TEST_F(RocksTest, SecondOpenOfTheSameDatabaseIsUnavailable) {
  auto db = OpenDb();
  auto second = Database::Open({.path = dir_.File("db")});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), StatusCode::kUnavailable) << second.error();
}

TEST_F(RocksTest, OpenFailsClearlyWhenPathIsAFile) {
  testing::WriteTextFile(dir_.File("file"), "x");
  auto db = Database::Open({.path = dir_.File("file")});
  ASSERT_FALSE(db.has_value());
}

// A child process writes keys and reports each one as acknowledged only
// after Put() returned; the parent kills it with SIGKILL mid-stream, then
// reopens the database: every acknowledged key must be there.
TEST_F(RocksTest, KillDashNineLosesNothingAcknowledged) {
  for (Durability durability : {Durability::kProcessCrashSafe, Durability::kSync}) {
    testing::ScopedTempDir dir("rocks-crash");
    const std::string path = dir.File("db");
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      auto db = Database::Open({.path = path, .column_families = {"events"}});
      if (!db) _exit(2);
      auto* cf = (*db)->Family("events");
      const std::string payload(200, 'p');
      for (uint64_t i = 1;; ++i) {
        // Alternate single puts and batches so both paths are covered.
        if (i % 2 == 0) {
          if (!(*db)->Put(cf, Key(i), payload, durability).ok()) _exit(3);
        } else {
          rocksdb::WriteBatch batch;
          batch.Put(cf, Key(i), payload);
          if (!(*db)->Write(batch, durability).ok()) _exit(3);
        }
        if (write(fds[1], &i, sizeof(i)) != sizeof(i)) _exit(4);
      }
    }
    close(fds[1]);
    uint64_t acked = 0, last = 0;
    const uint64_t kill_after = durability == Durability::kSync ? 300 : 5000;
    while (read(fds[0], &last, sizeof(last)) == sizeof(last)) {
      acked = last;
      if (acked == kill_after) kill(child, SIGKILL);
    }
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    ASSERT_GE(acked, kill_after);

    auto db = Database::Open({.path = path, .column_families = {"events"}});
    ASSERT_TRUE(db.has_value()) << db.error();
    auto* cf = (*db)->Family("events");
    uint64_t expected = 1, missing = 0;
    ASSERT_TRUE((*db)->Scan(cf, "", "", [&](std::string_view k, std::string_view v) {
                     const uint64_t n = ReadBigEndian64(k);
                     if (n != expected) ++missing;
                     expected = n + 1;
                     EXPECT_EQ(v.size(), 200u);
                     return true;
                   }).has_value());
    EXPECT_EQ(missing, 0u) << "keys are not dense";
    EXPECT_GE(expected - 1, acked) << "acknowledged writes were lost";
  }
}

TEST(RocksKeysTest, BigEndianOrderIsNumericOrder) {
  EXPECT_LT(Key(255), Key(256));
  EXPECT_LT(Key(1), Key(1ull << 40));
  EXPECT_EQ(ReadBigEndian64(Key(0x0102030405060708ull)), 0x0102030405060708ull);
}

TEST(RocksStatusTest, ConvertsCodes) {
  EXPECT_TRUE(FromRocks(rocksdb::Status::OK(), "x").ok());
  EXPECT_EQ(FromRocks(rocksdb::Status::Corruption("bad block"), "read").code(), StatusCode::kDataLoss);
  EXPECT_EQ(FromRocks(rocksdb::Status::NotFound(), "get").code(), StatusCode::kNotFound);
  EXPECT_EQ(FromRocks(rocksdb::Status::Corruption("bad block"), "read").message(), "read: Corruption: bad block");
}

}  // namespace
}  // namespace rampart::rocks
