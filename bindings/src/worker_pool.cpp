#include "worker_pool.h"

namespace stylemm {

WorkerPool::WorkerPool(int threads) {
  for (int w = 1; w < threads; ++w) background_.emplace_back([this, w] { serve(w); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : background_) thread.join();
}

void WorkerPool::run(int count, void (*task)(void*, int, int), void* context) {
  if (background_.empty() || count <= 1) {
    for (int item = 0; item < count; ++item) task(context, item, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = task;
    context_ = context;
    count_ = count;
    next_.store(0);
    busy_ = static_cast<int>(background_.size());
    ++generation_;
  }
  wake_.notify_all();
  work(0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return busy_ == 0; });
}

void WorkerPool::serve(int worker) {
  unsigned long long seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    work(worker);
    std::lock_guard<std::mutex> lock(mutex_);
    if (--busy_ == 0) done_.notify_one();
  }
}

void WorkerPool::work(int worker) {
  for (int item = next_.fetch_add(1); item < count_; item = next_.fetch_add(1)) task_(context_, item, worker);
}

}  // namespace stylemm
