#pragma once
// Orderly shutdown on SIGTERM / SIGINT (and reload on SIGHUP) for daemons.
//
// Call InstallShutdownHandling() first thing in main(), before any thread
// starts: it blocks these signals in every thread and hands them to one
// watcher thread, so no library thread is ever interrupted mid-call and no
// work happens in a signal handler.

#include <chrono>
#include <functional>

namespace rampart {

void InstallShutdownHandling();

// True once SIGTERM/SIGINT arrived or RequestShutdown() was called.
bool ShutdownRequested();
// Asks the process to stop, as a signal would (tests, fatal errors).
void RequestShutdown();
// Blocks until shutdown is requested or `timeout` passes; true if requested.
bool WaitForShutdown(std::chrono::milliseconds timeout);
void WaitForShutdown();

// Called on the watcher thread for each SIGHUP (config reload). Replaces any
// previous callback; pass nullptr to ignore SIGHUP.
void SetReloadCallback(std::function<void()> callback);

}  // namespace rampart
