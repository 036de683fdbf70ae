// Unit tests of grader/common's file reads, atomic writes and the spawner, on real files and
// processes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/json_io.hpp"
#include "common/spawn.hpp"
#include "run/verdict.hpp"

namespace {

namespace fs = std::filesystem;

// A fresh directory for one test, removed at the end.
class Scratch {
  public:
    Scratch() {
        std::string tmpl = (fs::temp_directory_path() / "kit-common-test-XXXXXX").string();
        EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    ~Scratch() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    Scratch(Scratch&&) = delete;
    Scratch& operator=(Scratch&&) = delete;
    [[nodiscard]] const fs::path& dir() const { return dir_; }

  private:
    fs::path dir_;
};

TEST(CommonFiles, TrustedReadTakesOnlyRegularFilesOfTheOwner) {
    const Scratch scratch;
    const fs::path file = scratch.dir() / "asan.123";
    std::ofstream(file) << "==1==ERROR: AddressSanitizer: heap-use-after-free\n";
    std::string error;
    const auto text = kit::read_trusted_file(file, kit::TrustedFile{::geteuid()}, error);
    ASSERT_TRUE(text.has_value()) << error;
    EXPECT_NE(text->find("heap-use-after-free"), std::string::npos);

    const fs::path link = scratch.dir() / "link";
    fs::create_symlink(file, link);
    EXPECT_FALSE(kit::read_trusted_file(link, kit::TrustedFile{}, error).has_value())
        << "hint: a symbolic link must never be followed";
    EXPECT_NE(error.find("symbolic link"), std::string::npos) << error;

    const fs::path fifo = scratch.dir() / "fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_FALSE(kit::read_trusted_file(fifo, kit::TrustedFile{}, error).has_value())
        << "hint: a FIFO is not a regular file (and must not block the read)";

    EXPECT_FALSE(kit::read_trusted_file(file, kit::TrustedFile{::geteuid() + 1}, error).has_value())
        << "hint: a file of another user is not the test's";
    EXPECT_NE(error.find("owned by uid"), std::string::npos) << error;
}

TEST(CommonFiles, SanitizerScanRefusesALinkPlantedInItsFolder) {
    const Scratch scratch;
    const fs::path secret = scratch.dir() / "secret.txt";
    std::ofstream(secret) << "==1==ERROR: AddressSanitizer: planted\n";
    const fs::path logs = scratch.dir() / "san";
    fs::create_directories(logs);
    fs::create_symlink(secret, logs / "asan.1");
    const auto scan = kit::scan_sanitizer_logs(logs, ::geteuid());
    EXPECT_FALSE(scan.report) << "hint: the linked file must not be read";
    EXPECT_TRUE(scan.logs.empty());
    ASSERT_EQ(scan.refused.size(), 1U);
    EXPECT_NE(scan.refused.front().find("asan.1"), std::string::npos) << scan.refused.front();
}

TEST(CommonFiles, AtomicWriteLeavesOnlyTheFile) {
    const Scratch scratch;
    const fs::path target = scratch.dir() / "sub" / "verdict.json";
    kit::write_file_atomic(target, "one");
    kit::write_file_atomic(target, "two");
    std::ifstream in(target);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "two");
    int entries = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(target.parent_path())) {
        ++entries;
    }
    EXPECT_EQ(entries, 1) << "hint: no temporary may be left behind";
    EXPECT_THROW(kit::write_file_atomic("/proc/kit-no-such-dir/x.json", "x"), std::runtime_error);
}

TEST(CommonSpawn, OnlyMappedDescriptorsReachTheChild) {
    // An inheritable descriptor (no O_CLOEXEC, above what ls opens itself) that the request does
    // not map must not leak.
    const kit::Fd null_fd = kit::open_fd("/dev/null", O_RDONLY);
    kit::Fd leaky(::fcntl(null_fd.get(), F_DUPFD, 100));
    ASSERT_TRUE(leaky.valid());
    kit::Pipe output = kit::make_pipe();
    kit::SpawnRequest request;
    request.argv = {"/bin/sh", "-c", "ls /proc/self/fd"};
    request.env = {"PATH=/usr/bin:/bin"};
    request.fds = {{1, output.write.get()}};
    int error = 0;
    const pid_t pid = kit::spawn(request, error);
    ASSERT_GT(pid, 0) << std::strerror(error);
    output.write.reset();
    std::string listing;
    char buffer[256];
    ssize_t n = 0;
    while ((n = ::read(output.read.get(), buffer, sizeof buffer)) > 0) {
        listing.append(buffer, static_cast<std::size_t>(n));
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(listing.find("\n" + std::to_string(leaky.get()) + "\n"), std::string::npos)
        << "fd " << leaky.get() << " leaked into the child:\n"
        << listing;
    EXPECT_NE(listing.find("1\n"), std::string::npos) << listing;
}

TEST(CommonSpawn, AMissingProgramIsAnErrorNotAChild) {
    kit::SpawnRequest request;
    request.argv = {"kit-no-such-program-anywhere"};
    request.env = {"PATH=/usr/bin:/bin"};
    int error = 0;
    EXPECT_EQ(kit::spawn(request, error), -1);
    EXPECT_EQ(error, ENOENT);
}

}  // namespace
