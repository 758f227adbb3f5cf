// src/threading/EventLoops.cs: the loops model's event loops (--threading loops): one thread a core, each with an
// epoll instance of its own and its share of the connections, handed out in turn, as memcached's worker
// threads are. A loop sleeps in epoll_wait until some of its sockets have bytes, and answers each of them right
// there (LoopThreading.OnLoop.Readable): no buffer or operation posted per socket. Only work that may take long (a
// listing, a reply that waits for a slot) is handed to the pool, so that a loop never stops for one client.
//
// Edge-triggered: epoll reports a socket once each time bytes arrive, and the conversation reads until the
// socket is empty, so a socket that stays readable is not reported again and again; or until it has been read for
// TurnTicks, and then it waits in the loop's queue for another turn, after the sockets ready meanwhile. The end of
// the client's stream may come with its last bytes, in the same report: the conversation is told, since no report
// follows.
// Linux on x64 only (epoll, and the packed layout of its event); elsewhere --threading loops is refused.

using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace KV;

public sealed class EventLoops : IDisposable
{
    private readonly Loop[] loops;
    private int next = -1;

    /// <summary>A loop's thread's name, followed by its number, as `ps -L` shows it.</summary>
    public const string ThreadNamePrefix = "KV loop ";

    /// <summary>
    /// How long a connection is read in one turn before the loop's other connections go first: a client that sends
    /// without end (redis-cli --pipe, a value of megabytes) is served a turn at a time (Redis reads 16 KiB a turn).
    /// Time, not bytes: a request of a few hundred kilobytes still arrives in one turn.
    /// </summary>
    public static readonly long TurnTicks = System.Diagnostics.Stopwatch.Frequency / 2000;

    /// <summary>This loop's conversations whose turn was cut: each has another once the ready ones have had theirs.
    /// </summary>
    [ThreadStatic] private static Queue<LoopThreading.OnLoop>? later;

    internal static bool OnLoopThread => later is not null;

    internal static void Later(LoopThreading.OnLoop conversation) => later!.Enqueue(conversation);

    public static bool Supported => OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    public EventLoops(int count)
    {
        loops = new Loop[count];
        for (var i = 0; i < count; i++) loops[i] = new Loop(i + 1);
    }

    /// <summary>Gives the socket to the next loop in turn, which calls Readable whenever bytes arrive.</summary>
    internal IDisposable Watch(Socket socket, LoopThreading.OnLoop conversation) =>
        loops[(int)((uint)Interlocked.Increment(ref next) % loops.Length)].Watch(socket, conversation);

    public void Dispose()
    {
        foreach (var loop in loops) loop.Dispose();
    }

    private sealed class Loop : IDisposable
    {
        private const int In = 0x001, Error = 0x008, HangUp = 0x010, ReadHangUp = 0x2000, EdgeTriggered = 1 << 31;
        private const int Add = 1, Delete = 2;
        private const int Interrupted = 4;

        private readonly int epoll;
        private readonly ConcurrentDictionary<ulong, LoopThreading.OnLoop> watched = new();
        private ulong lastId;
        private volatile bool stopping;

        private readonly int number;

        public Loop(int number)
        {
            this.number = number;
            epoll = epoll_create1(0x80000 /* EPOLL_CLOEXEC */);
            if (epoll < 0) throw new SocketException(Marshal.GetLastPInvokeError());
            new Thread(Run) { IsBackground = true, Name = ThreadNamePrefix + number }.Start();
        }

        public IDisposable Watch(Socket socket, LoopThreading.OnLoop conversation)
        {
            var id = Interlocked.Increment(ref lastId);
            watched[id] = conversation;
            var change = new EpollEvent { Events = In | ReadHangUp | EdgeTriggered, Data = id };
            if (epoll_ctl(epoll, Add, (int)socket.Handle, ref change) < 0)
            {
                watched.TryRemove(id, out _);
                throw new SocketException(Marshal.GetLastPInvokeError());
            }
            return new Watching(this, socket, id);
        }

        /// <summary>
        /// Undone before the socket closes: a closed descriptor's number may come back as another socket.
        /// </summary>
        private sealed class Watching(Loop loop, Socket socket, ulong id) : IDisposable
        {
            public void Dispose()
            {
                var none = default(EpollEvent);
                epoll_ctl(loop.epoll, Delete, (int)socket.Handle, ref none);
                loop.watched.TryRemove(id, out _);
            }
        }

        private void Run()
        {
            ThreadingModels.ThreadLabel = $"loop-{number}";
            ThreadingModels.ServesByTurns = true;
            var waiting = later = new Queue<LoopThreading.OnLoop>();
            var events = new EpollEvent[256];
            while (!stopping)
            {
                // A timeout, so that a stopped server's loops end (a closed epoll does not wake its waiter); none
                // while a conversation waits for another turn.
                var ready = epoll_wait(epoll, events, events.Length, waiting.Count > 0 ? 0 : 500);
                if (ready < 0 && Marshal.GetLastPInvokeError() == Interrupted) continue;
                if (ready < 0) break;
                for (var i = 0; i < ready; i++)
                    if (watched.TryGetValue(events[i].Data, out var conversation))
                        conversation.Readable(ended: (events[i].Events & (ReadHangUp | HangUp | Error)) != 0);
                for (var turns = waiting.Count; turns > 0; turns--) waiting.Dequeue().Continue();
            }
            close(epoll);
        }

        public void Dispose() => stopping = true;

        [StructLayout(LayoutKind.Sequential, Pack = 4)]
        private struct EpollEvent
        {
            public int Events;
            public ulong Data;
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int epoll_create1(int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int epoll_ctl(int epoll, int operation, int descriptor, ref EpollEvent change);

        [DllImport("libc", SetLastError = true)]
        private static extern int epoll_wait(int epoll, [Out] EpollEvent[] events, int capacity,
            int timeoutMilliseconds);

        [DllImport("libc")]
        private static extern int close(int descriptor);
    }
}
