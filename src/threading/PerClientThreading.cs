// src/threading/PerClientThreading.cs: the per-client model (--threading per-client), the assignment's "a thread
// for each client": a thread of its own for each connection, which blocks wherever the conversation waits: in
// poll(2) for its client's bytes, in a send its client does not read, in an answer that waits.
//
// Simple to read, and what the lesson compares the pool with: each idle client costs a thread's stack, and the
// machine's bound on threads bounds the clients (AdmitsAtMost).

using System.Net.Sockets;

namespace KV;

public sealed class PerClientThreading : ThreadingModel, IConnectionThreads
{
    public static readonly PerClientThreading Model = new();

    private PerClientThreading() { }

    public override string Name => "per-client";
    public override IConnectionThreads Open() => this;
    public IConnectionThread Attach(Conversation conversation, Socket socket) => new OwnThread(conversation, socket);
    public void Dispose() { }

    /// <summary>A thread a client: no more clients than threads the machine allows.</summary>
    public override int AdmitsAtMost(int maxClients) => Math.Min(maxClients, ThreadsThisMachineAllows());

    /// <summary>
    /// The most threads of its own this machine lets a process start with room to spare. A thread takes a few memory
    /// mappings (its stack, its guard page, the runtime's), and past Linux's vm.max_map_count every mapping fails,
    /// the garbage collector's too, which no program survives: so a thread-a-client server admits fewer clients.
    /// </summary>
    public static int ThreadsThisMachineAllows()
    {
        static int Read(string path) =>
            File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out var value) ? value : int.MaxValue;
        return Math.Min(Read("/proc/sys/vm/max_map_count") / 6, Read("/proc/sys/kernel/threads-max") / 2);
    }

    /// <summary>The name of a client's own thread, as `ps -L` shows it.</summary>
    public const string ThreadName = "KV client";

    private sealed class OwnThread(Conversation conversation, Socket socket) : IConnectionThread
    {
        public void Start()
        {
            try
            {
                new Thread(Serve) { IsBackground = true, Name = ThreadName }.Start();
            }
            catch (OutOfMemoryException)
            {
                // No thread to be had (the machine's bound on them): this client is turned away, the others go on.
                conversation.EndUnstarted("no thread could be started for this client");
            }
        }

        private void Serve()
        {
            ThreadingModels.ThreadLabel = $"client-{Environment.CurrentManagedThreadId}";
            conversation.ServeOnThisThread();
        }

        /// <summary>Asleep in poll(2) until the client sends, or until WakeToEnd shuts the reading side.</summary>
        public bool WaitForData()
        {
            socket.Poll(-1, SelectMode.SelectRead);
            return conversation.Resume();
        }

        /// <summary>
        /// Its own thread ends it: a blocked wait for data wakes, reading the end of the stream; the sending side stays
        /// open for the last word.
        /// </summary>
        public bool WakeToEnd()
        {
            try { socket.Shutdown(SocketShutdown.Receive); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            return true;
        }

        public ValueTask<string?> RunDeferred(DeferredReply deferred, IReplyContext context) =>
            new(Conversation.Blocking(deferred(context)));

        public bool ReportsArrivals => false;
        public bool BlocksToSend => true;
        public ISocketIO IO { get; } = new NonBlockingSocket(socket);
        public void Dispose() { }
    }
}
