#pragma once
// Internal to agent/ship: the one bidirectional gRPC stream of a Shipper,
// as a callback reactor (gRPC's ClientBidiReactor) and the inbox it fills
// for the shipper's control thread.
//
// Threads: the control thread creates the call, queues writes and waits on
// the inbox; gRPC's callback threads run the reactions (OnWriteDone,
// OnReadDone, OnDone), which never block. The control thread owns the call
// and destroys it only after OnDone (Inbox::done), which the hold taken at
// construction delays until ReleaseHold().

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <string>

#include "common/util/mutex.h"
#include "rampart/v1/agent_service.pb.h"

namespace rampart::ship::detail {

// What the stream's reactions tell the control thread.
struct Inbox {
  Mutex mu;
  CondVar cv;  // Signalled on every change below.
  std::deque<v1::ControllerMessage> messages GUARDED_BY(mu);
  bool read_closed GUARDED_BY(mu) = false;  // The last read failed: the stream is ending.
  bool done GUARDED_BY(mu) = false;         // OnDone ran; `status` is final.
  grpc::Status status GUARDED_BY(mu);
  bool wake GUARDED_BY(mu) = false;  // Stop requested, or a write completed.

  // Clears what a previous stream left.
  void Reset() EXCLUDES(mu);
  // Blocks until OnDone ran; its status.
  grpc::Status AwaitDone() EXCLUDES(mu);
};

// One stream: writes queued by the control thread, one in flight; reads
// parsed into the inbox.
class StreamCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // Starts the call on `stub` (method AgentService/Stream) and its first read.
  StreamCall(grpc::GenericStub& stub, Inbox& inbox);

  // The owner starts no more operations; OnDone may follow.
  void ReleaseHold();
  // Queues one serialized AgentMessage; ignored after CloseWrites.
  void Write(std::string bytes) EXCLUDES(mu_);
  // Half-closes after the queued writes.
  void CloseWrites() EXCLUDES(mu_);
  void Cancel() { ctx_.TryCancel(); }

  void OnWriteDone(bool ok) override EXCLUDES(mu_);
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& s) override;

 private:
  void Wake();

  Inbox& inbox_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer read_;
  // Recursive: gRPC may run OnWriteDone inline from StartWrite, on the
  // thread that holds it in Write.
  RecursiveMutex mu_;
  std::deque<grpc::ByteBuffer> queue_ GUARDED_BY(mu_);
  bool writing_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
  std::atomic<bool> hold_released_{false};
};

}  // namespace rampart::ship::detail
