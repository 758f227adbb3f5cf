// src/threading/LoopThreading.cs: the loops model (--threading loops): one event loop a core (EventLoops.cs),
// each with its share of the connections, answering them right where their bytes arrive, as memcached's worker
// threads do. What may take long (a big listing, the password's pause, a client slow to read) is handed to the
// pool, so that a loop's other clients never wait for it.

using System.Net.Sockets;

namespace KV;

public sealed class LoopThreading : ThreadingModel
{
    public static readonly LoopThreading Model = new();

    private LoopThreading() { }

    public override string Name => "loops";

    public override string? Unsupported => EventLoops.Supported ? null
        : "--threading loops needs Linux on x64 (its loops are epoll's); use pool or per-client here";

    /// <summary>
    /// A loop a core the process may run on (ProcessorCount follows the CPU affinity it started with).
    /// </summary>
    public override IConnectionThreads Open() => Open(Environment.ProcessorCount);

    /// <summary>Served by `count` loops (a test holds one loop to order what it sees).</summary>
    public IConnectionThreads Open(int count) => new Loops(new EventLoops(count));

    private sealed class Loops(EventLoops loops) : IConnectionThreads
    {
        public IConnectionThread Attach(Conversation conversation, Socket socket) => new OnLoop(loops, conversation,
            socket);
        public void Dispose() => loops.Dispose();
    }

    /// <summary>A conversation watched by one loop, which calls Readable whenever its bytes arrive.</summary>
    internal sealed class OnLoop : IConnectionThread, ISocketIO
    {
        private readonly Conversation conversation;
        private readonly Descriptor descriptor;
        private readonly IDisposable watching;
        private volatile bool streamEnded;

        public OnLoop(EventLoops loops, Conversation conversation, Socket socket)
        {
            this.conversation = conversation;
            descriptor = new Descriptor(socket);
            watching = loops.Watch(socket, this);
        }

        /// <summary>
        /// Here, once: then on its event loop, whenever bytes arrive. The accepting thread serves by turns too while
        /// it starts the conversation: a first request that runs long (a script looping until SCRIPT KILL) goes to
        /// the pool, and the thread goes back to accepting.
        /// </summary>
        public void Start()
        {
            var was = ThreadingModels.ServesByTurns;
            ThreadingModels.ServesByTurns = true;
            try
            {
                _ = conversation.ServeAsync();
            }
            finally
            {
                ThreadingModels.ServesByTurns = was;
            }
        }

        /// <summary>On the loop's thread: bytes have arrived, perhaps with the end of the client's stream.</summary>
        public void Readable(bool ended)
        {
            if (ended) streamEnded = true;
            conversation.BytesArrived();
        }

        /// <summary>Its loop reports what arrives; once the client's stream has ended, read on to its end.</summary>
        public bool WaitForData() => streamEnded && conversation.Resume();

        public bool ReportsArrivals => true;
        public bool WakeToEnd() => false;

        /// <summary>Long work goes to the pool, so that the loop's other clients do not wait for it.</summary>
        public ValueTask<string?> RunDeferred(DeferredReply deferred, IReplyContext context) =>
            ThreadingModels.ServesByTurns ? new(Task.Run(() => deferred(context).AsTask())) : deferred(context);

        public bool BlocksToSend => false;

        /// <summary>On a loop's thread (not the accepting thread that starts a conversation): EventLoops.TurnTicks.
        /// </summary>
        public long TurnTicks => EventLoops.OnLoopThread ? EventLoops.TurnTicks : 0;

        public void ServeLater() => EventLoops.Later(this);

        /// <summary>On a loop's thread, a turn cut short before: the conversation goes on reading.</summary>
        internal void Continue() => _ = conversation.ServeAsync();

        /// <summary>The descriptor itself, read and written below .NET's Socket (Descriptor.cs).</summary>
        public ISocketIO IO => this;
        public int Receive(Span<byte> into, out SocketError error) => descriptor.Receive(into, out error);
        public int Send(ReadOnlySpan<byte> bytes, out SocketError error) => descriptor.Send(bytes, out error);
        public void Dispose() => watching.Dispose();
    }
}
