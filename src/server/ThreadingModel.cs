// src/server/ThreadingModel.cs: how a connection gets a thread (--threading), as a strategy a Conversation asks
// and never names. The core has one model, the assignment's "a thread pool" (PoolThreading.cs); the others are a
// feature (src/threading/: a thread for each client, and event loops) that registers itself here. docs/threading.md
// measures them side by side.
//
// A model answers the few questions where they differ: which thread starts a conversation, how it waits for bytes
// (and who wakes it), where an answer that waits runs, whether a send that waits blocks its thread, how an
// interruption reaches a conversation that is waiting, and whether a conversation's turn on its thread is bounded.

using System.Net.Sockets;

namespace KV;

/// <summary>One threading model, as --threading names it.</summary>
public abstract class ThreadingModel
{
    public abstract string Name { get; }

    /// <summary>Why this machine cannot run the model (the server refuses to start); null when it can.</summary>
    public virtual string? Unsupported => null;

    /// <summary>The most clients the model can serve at once, given the --max-clients asked for.</summary>
    public virtual int AdmitsAtMost(int maxClients) => maxClients;

    /// <summary>One server's use of the model: made when the server starts, disposed when it stops.</summary>
    public abstract IConnectionThreads Open();
}

/// <summary>A running server's threads for its connections.</summary>
public interface IConnectionThreads : IDisposable
{
    /// <summary>
    /// The model's part of one new conversation, its socket connected and blocking as accepted: the model makes it
    /// non-blocking, its own way (IO).
    /// </summary>
    IConnectionThread Attach(Conversation conversation, Socket socket);
}

/// <summary>
/// One conversation's part of its model. Disposed when the conversation ends, before its socket closes.
/// </summary>
public interface IConnectionThread : IDisposable
{
    /// <summary>Begins serving, on the model's thread (a first request may already be there).</summary>
    void Start();

    /// <summary>
    /// After the conversation has given up its thread (ConversationClaim): arranges for it to be served when bytes
    /// come. True when it goes on at once, on this thread; false when the model will resume it, or Interrupt ended it.
    /// </summary>
    bool WaitForData();

    /// <summary>
    /// Whether bytes that arrive while the conversation is busy are reported, and flagged for it (an event loop).
    /// </summary>
    bool ReportsArrivals { get; }

    /// <summary>
    /// An interruption has been recorded. True when the model's own thread will end the conversation (it is woken
    /// here); false when the interrupter claims a waiting conversation and ends it itself.
    /// </summary>
    bool WakeToEnd();

    /// <summary>Runs an answer that waits (a listing, the password's pause) where the model runs long work.</summary>
    ValueTask<string?> RunDeferred(DeferredReply deferred, IReplyContext context);

    /// <summary>Whether a send that must wait for its client blocks this thread, rather than awaiting.</summary>
    bool BlocksToSend { get; }

    /// <summary>How the conversation reads and sends without waiting.</summary>
    ISocketIO IO { get; }

    /// <summary>
    /// How long a conversation reads in one turn on this thread before the others it serves go first (an event loop's
    /// thread), in Stopwatch ticks; 0: no bound, the thread is the conversation's for as long as bytes come.
    /// </summary>
    long TurnTicks => 0;

    /// <summary>After a turn cut at TurnTicks, on that thread: serves the conversation again once the others ready
    /// now have had their turn.</summary>
    void ServeLater() { }
}

public static class ThreadingModels
{
    private static readonly Lock registering = new();
    private static ThreadingModel[] all = [PoolThreading.Model];

    /// <summary>The model a server uses when --threading is not given.</summary>
    public static ThreadingModel Default => PoolThreading.Model;

    /// <summary>Every model this program was built with, the core's pool first.</summary>
    public static IReadOnlyList<ThreadingModel> All => Volatile.Read(ref all);

    /// <summary>Adds a model (a feature's module initializer calls this); a name registered twice is a bug.</summary>
    public static void Register(ThreadingModel model)
    {
        lock (registering)
        {
            if (Find(model.Name) is not null) throw new InvalidOperationException($"two threading models named " +
                $"{model.Name}");
            Volatile.Write(ref all, [.. all, model]);
        }
    }

    public static ThreadingModel? Find(string name) =>
        All.FirstOrDefault(model => model.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Whether this thread is one of the pool's (not a socket engine's event loop, not a thread of its own).
    /// </summary>
    public static bool OnPool => Thread.CurrentThread.IsThreadPoolThread;

    [ThreadStatic] private static bool servesByTurns;

    /// <summary>
    /// Whether this thread serves many connections by turns (an event loop): work that may run long (a script) is then
    /// handed to RunDeferred, so that it holds no other connection back. Any other thread may run it where it is.
    /// </summary>
    public static bool ServesByTurns
    {
        get => servesByTurns;
        set => servesByTurns = value;
    }

    [ThreadStatic] private static string? threadLabel;

    /// <summary>
    /// This thread as `monitor` shows it: `pool-12` (a pool thread, by its managed id), or the label a model gave the
    /// threads it starts (`client-57`, `loop-1`), else `thread-3`.
    /// </summary>
    public static string ThreadLabel
    {
        get => threadLabel ??= Thread.CurrentThread switch
        {
            { IsThreadPoolThread: true } pool => $"pool-{pool.ManagedThreadId}",
            var other => $"thread-{other.ManagedThreadId}",
        };
        set => threadLabel = value;
    }
}
