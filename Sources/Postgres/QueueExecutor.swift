import Dispatch

/// A serial executor that runs an actor's jobs on a dedicated dispatch queue.
///
/// libpq's calls block their thread until the server answers. Running them on a
/// queue of their own keeps them off Swift's cooperative thread pool, which must
/// never block.
final class QueueExecutor: SerialExecutor {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async {
            job.runSynchronously(on: self.asUnownedSerialExecutor())
        }
    }
}
