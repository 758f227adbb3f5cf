// src/server/PoolThreading.cs: the pool model (--threading pool, the default), the assignment's design. .NET's
// socket engine watches every waiting socket (epoll) and, when one has bytes, hands its conversation to the
// ThreadPool, whose threads (capped by SetMaxThreads in KVServer.cs) answer it.
//
// A waiting conversation holds a zero-byte receive: it completes when bytes arrive, without a buffer of its own.

using System.Net.Sockets;

namespace KV;

public sealed class PoolThreading : ThreadingModel, IConnectionThreads
{
    public static readonly PoolThreading Model = new();

    private PoolThreading() { }

    public override string Name => "pool";

    /// <summary>
    /// How often an idle pool thread spins before it sleeps, where .NET's default does not suit a server: spinning
    /// waits for work that comes at once, but with one core the spinner only yields (sched_yield) to the threads that
    /// have the work, again and again. Null: the default.
    /// </summary>
    public static int? IdleSpins(int processors) => processors == 1 ? 0 : null;

    /// <summary>The runtime's setting IdleSpins gives, read when the pool starts its first thread.</summary>
    public const string IdleSpinsSetting = "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit";

    public override IConnectionThreads Open() => this;
    public IConnectionThread Attach(Conversation conversation, Socket socket) => new Pooled(conversation, socket);
    public void Dispose() { }

    private sealed class Pooled : IConnectionThread
    {
        private static readonly EventHandler<SocketAsyncEventArgs> DataArrived =
            static (_, wait) => OnDataArrived((Conversation)wait.UserToken!);

        private readonly Socket socket;
        private readonly SocketAsyncEventArgs dataWait;
        private readonly Conversation conversation;

        public Pooled(Conversation conversation, Socket socket)
        {
            this.conversation = conversation;
            this.socket = socket;
            IO = new NonBlockingSocket(socket);
            dataWait = new SocketAsyncEventArgs { UserToken = conversation };
            dataWait.Completed += DataArrived;
        }

        public void Start() =>
            ThreadPool.UnsafeQueueUserWorkItem(static conversation => _ = conversation.ServeAsync(), conversation,
                preferLocal: false);

        /// <summary>A zero-byte receive, completed on a pool thread by .NET's socket engine (DataArrived).</summary>
        public bool WaitForData()
        {
            bool pending;
            try
            {
                pending = socket.ReceiveAsync(dataWait);
            }
            catch when (!conversation.Resume())
            {
                // Interrupt claimed it while the wait was being posted, and closed the socket under it: ending is its
                // job.
                return false;
            }
            return !pending && conversation.Resume();
        }

        /// <summary>The socket engine has handed the client to a pool thread.</summary>
        private static void OnDataArrived(Conversation conversation)
        {
            // A claimed conversation's wait ends when Interrupt closes its socket: nothing to serve.
            if (conversation.Resume()) _ = conversation.ServeAsync();
        }

        public bool ReportsArrivals => false;
        public bool WakeToEnd() => false;
        public ValueTask<string?> RunDeferred(DeferredReply deferred, IReplyContext context) => deferred(context);
        public bool BlocksToSend => false;
        public ISocketIO IO { get; }
        public void Dispose() => dataWait.Dispose();
    }
}
