#include "agent/ship/stream_call.h"

#include <vector>

namespace rampart::ship::detail {
namespace {

constexpr char kStreamMethod[] = "/rampart.v1.AgentService/Stream";

grpc::ByteBuffer ToBuffer(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(owned->data(), owned->size(), [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

bool FromBuffer(const grpc::ByteBuffer& buf, v1::ControllerMessage* msg) {
  std::vector<grpc::Slice> slices;
  if (!buf.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return msg->ParseFromString(bytes);
}

}  // namespace

void Inbox::Reset() {
  MutexLock lock(&mu);
  messages.clear();
  read_closed = false;
  done = false;
  status = grpc::Status::OK;
}

grpc::Status Inbox::AwaitDone() {
  MutexLock lock(&mu);
  while (!done) cv.Wait(&mu);
  return status;
}

StreamCall::StreamCall(grpc::GenericStub& stub, Inbox& inbox) : inbox_(inbox) {
  stub.PrepareBidiStreamingCall(&ctx_, kStreamMethod, grpc::StubOptions(), this);
  // The shipper thread starts writes from outside the reactions: the hold
  // keeps OnDone (after which this object may be deleted) from running
  // while it still may, until ReleaseHold().
  AddHold();
  StartRead(&read_);
  StartCall();
}

void StreamCall::ReleaseHold() {
  if (!hold_released_.exchange(true)) RemoveHold();
}

void StreamCall::Write(std::string bytes) {
  RecursiveMutexLock lock(&mu_);
  if (closed_) return;
  queue_.push_back(ToBuffer(std::move(bytes)));
  if (!writing_) {
    writing_ = true;
    StartWrite(&queue_.front());
  }
}

void StreamCall::CloseWrites() {
  RecursiveMutexLock lock(&mu_);
  if (closed_) return;
  closed_ = true;
  if (!writing_) StartWritesDone();
}

void StreamCall::OnWriteDone(bool ok) {
  {
    RecursiveMutexLock lock(&mu_);
    writing_ = false;
    queue_.pop_front();
    if (!ok) {
      queue_.clear();
      return;  // The stream is failing; OnDone follows.
    }
    if (!queue_.empty()) {
      writing_ = true;
      StartWrite(&queue_.front());
    } else if (closed_) {
      StartWritesDone();
    }
  }
  Wake();
}

void StreamCall::OnReadDone(bool ok) {
  if (!ok) {
    // OnDone waits for the owner's hold; tell the owner to release it.
    MutexLock lock(&inbox_.mu);
    inbox_.read_closed = true;
    inbox_.cv.SignalAll();
    return;
  }
  v1::ControllerMessage msg;
  if (FromBuffer(read_, &msg)) {
    MutexLock lock(&inbox_.mu);
    inbox_.messages.push_back(std::move(msg));
    inbox_.cv.SignalAll();
  }
  StartRead(&read_);
}

void StreamCall::OnDone(const grpc::Status& s) {
  MutexLock lock(&inbox_.mu);
  inbox_.done = true;
  inbox_.status = s;
  inbox_.cv.SignalAll();
}

void StreamCall::Wake() {
  MutexLock lock(&inbox_.mu);
  inbox_.wake = true;
  inbox_.cv.SignalAll();
}

}  // namespace rampart::ship::detail
