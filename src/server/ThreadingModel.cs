// src/server/ThreadingModel.cs: the three ways the server can give its clients a thread (--threading), the lesson
// of the assignment's "a thread for each client" and "a thread pool", measured side by side (docs/threading.md).
//
// All three share one Conversation; they differ in which thread waits for a client's bytes, which one answers
// them, and where a reply that has to wait (for its client to read, for a listing's turn) waits:
//   per-client  a thread of its own for each connection, asleep in a blocking call until its client sends;
//   pool        .NET's socket engine watches every socket (epoll) and hands each ready client to the
//               ThreadPool, which answers it: the assignment's design, and the default;
//   loops       one event loop a core (EventLoops), each with its share of the connections, answering them
//               right where their bytes arrive (memcached's worker threads); what may take long (a big
//               listing, the password's pause, a slow reader) is handed to the pool, so that a loop's other
//               clients never wait for it.

namespace KV;

public enum ThreadingModel { PerClient, Pool, Loops }

public static class ThreadingModels
{
    public static string Name(this ThreadingModel model) => model switch
    {
        ThreadingModel.PerClient => "per-client",
        ThreadingModel.Pool => "pool",
        _ => "loops",
    };

    public static ThreadingModel? Parse(string name) =>
        Enum.GetValues<ThreadingModel>().Cast<ThreadingModel?>().FirstOrDefault(model => model!.Value.Name() == name.ToLowerInvariant());

    /// <summary>
    /// The most threads of its own this machine lets a process start with room to spare. A thread takes a few memory
    /// mappings (its stack, its guard page, the runtime's), and past Linux's vm.max_map_count every mapping fails,
    /// the garbage collector's too, which no program survives: so a thread-a-client server admits fewer clients.
    /// </summary>
    public static int ThreadsThisMachineAllows()
    {
        static int Read(string path) => File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out var value) ? value : int.MaxValue;
        return Math.Min(Read("/proc/sys/vm/max_map_count") / 6, Read("/proc/sys/kernel/threads-max") / 2);
    }

    /// <summary>Whether this thread is one of the pool's (not a socket engine's event loop, not a client's own).</summary>
    public static bool OnPool => Thread.CurrentThread.IsThreadPoolThread;

    [ThreadStatic] private static string? threadLabel;

    /// <summary>
    /// This thread as `monitor` shows it: `pool-12` (a pool thread, by its managed id), `client-57` (a client's own,
    /// per-client), `loop-1` (an event loop, by its number), else `thread-3`. Made once a thread.
    /// </summary>
    public static string ThreadLabel => threadLabel ??= Thread.CurrentThread switch
    {
        { IsThreadPoolThread: true } pool => $"pool-{pool.ManagedThreadId}",
        { Name: { } name } when name.StartsWith(LoopThreadNamePrefix) => $"loop-{name[LoopThreadNamePrefix.Length..]}",
        { Name: PerClientThreadName } own => $"client-{own.ManagedThreadId}",
        var other => $"thread-{other.ManagedThreadId}",
    };

    /// <summary>The names of a per-client thread and of an event loop's (followed by its number), as `ps -L` shows them.</summary>
    public const string PerClientThreadName = "KV client", LoopThreadNamePrefix = "KV loop ";
}
