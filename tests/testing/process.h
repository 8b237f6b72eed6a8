#pragma once
// Real child processes for integration and system tests: run a program to
// completion and collect its output, or start a daemon, signal it, and wait.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace rampart::testing {

struct ProcessResult {
  int exit_code = -1;    // Exit status, or -1 when killed by a signal.
  int signal = 0;        // The signal that ended it, if any.
  bool timed_out = false;
  std::string out;       // Everything written to stdout.
  std::string err;       // Everything written to stderr.
};

// Runs argv[0] (a path) with arguments, feeding `input` on stdin; kills it
// with SIGKILL after `timeout`.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60),
                         const std::string& input = "");

// A background process whose stdout+stderr go to `log_path` (for daemons).
// The destructor kills it with SIGKILL if it is still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int sig);
  // Waits up to `timeout` for exit; returns the result (timed_out if not).
  ProcessResult Wait(std::chrono::milliseconds timeout);
  // The log so far.
  std::string Log() const;
  // Polls the log until it contains `text` or `timeout` passes.
  bool WaitForLog(const std::string& text, std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  bool reaped_ = false;
  int status_ = 0;
};

// The path of a program built by this tree (BinaryDir()/bin/NAME).
std::string ProgramPath(const std::string& name);

}  // namespace rampart::testing
