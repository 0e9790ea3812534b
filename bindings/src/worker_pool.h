// A fixed set of threads that run the items of one task at a time: an evaluator's
// workers. Started once, so running a task allocates nothing (a game calls it every frame).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace stylemm {

class WorkerPool {
 public:
  // `threads` workers in all, the caller of run() being one of them (threads >= 1).
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int threads() const { return static_cast<int>(background_.size()) + 1; }

  // Calls task(context, item, worker) for every item in [0, count) and returns when all are
  // done; worker in [0, threads()) tells which worker's scratch memory to use. The task must
  // not throw. Items go to whichever worker is free, so a result must not depend on which
  // worker computes it.
  void run(int count, void (*task)(void* context, int item, int worker), void* context);

 private:
  void serve(int worker);
  void work(int worker);

  std::vector<std::thread> background_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  unsigned long long generation_ = 0;  // bumped for each task, so a worker runs it once
  bool stopping_ = false;
  int busy_ = 0;  // background workers still on the current task
  void (*task_)(void*, int, int) = nullptr;
  void* context_ = nullptr;
  int count_ = 0;
  std::atomic<int> next_{0};
};

}  // namespace stylemm
