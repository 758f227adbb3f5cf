// tests/ThreadingTests.cs: the three threading models (--threading) seen from inside: which thread answers a
// client's requests, and where an answer that waits runs. A Conversation is served over a real socket pair by a
// protocol that notes its thread. What every model must do the same (limits, timeouts, the password, stopping)
// is tested in the other classes, as theories over the models.

using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KV;
using Xunit;

public class ThreadingTests
{
    private sealed record Noted(string Request, int Thread, string? Name, bool OnPool);

    /// <summary>
    /// Answers each line with `ok`, noting the thread; `wait` is answered by a deferred reply, as a listing is.
    /// </summary>
    private sealed class ThreadNoting : IRequestHandler
    {
        private DeferredReply? deferred;
        public ConcurrentQueue<Noted> Seen { get; } = new();

        /// <summary>Answers without noting what it sees (a stream of many requests).</summary>
        public bool Quiet { get; init; }

        /// <summary>How long each request keeps its thread busy (so that requests arrive faster than answered).
        /// </summary>
        public TimeSpan Work { get; init; }

        private long answered;
        public long Answered => Interlocked.Read(ref answered);

        /// <summary>Another conversation's handler, whose count of answers this one notes at its first request.
        /// </summary>
        public ThreadNoting? Beside { get; init; }
        public long? AnsweredBeside { get; private set; }

        private void Note(string request)
        {
            if (!Quiet) Seen.Enqueue(new(request, Environment.CurrentManagedThreadId, Thread.CurrentThread.Name,
                ThreadingModels.OnPool));
        }

        /// <summary>
        /// A `park` request's answer waits, off its thread, until Parked completes; Parking says it has begun.
        /// </summary>
        public TaskCompletionSource Parked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Parking { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>A `hold` request keeps the thread that answers it until this is set.</summary>
        public ManualResetEventSlim Held { get; } = new();
        public ManualResetEventSlim Holding { get; } = new();

        public bool TryAnswer(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, out string? ending)
        {
            ending = null;
            if (!LineFraming.TryReadRequest(ref buffer, out var line)) return false;
            var request = Encoding.ASCII.GetString(line.ToArray());
            Note(request);
            Interlocked.Increment(ref answered);
            AnsweredBeside ??= Beside?.Answered;
            for (var started = Stopwatch.GetTimestamp(); Stopwatch.GetElapsedTime(started) < Work;) { }
            if (request == "hold")
            {
                Holding.Set();
                Held.Wait(Programs.Patience);
            }
            if (request == "park")
                deferred = async context =>
                {
                    Parking.SetResult();
                    await Parked.Task;
                    context.Output.Write("ok\n"u8);
                    return null;
                };
            else if (request == "wait")
                deferred = context =>
                {
                    Note("deferred");
                    context.Output.Write("ok\n"u8);
                    return ValueTask.FromResult<string?>(null);
                };
            else output.Write("ok\n"u8);
            return true;
        }

        public string? RefuseUnfinished(ReadOnlySequence<byte> unfinished, IBufferWriter<byte> output) => null;
        public DeferredReply? TakeDeferred() => Interlocked.Exchange(ref deferred, null);
        public void WriteError(IBufferWriter<byte> output,
            string message) => output.Write(Encoding.ASCII.GetBytes($"ERROR: {message}\n"));
    }

    /// <summary>
    /// A connected pair: the client's socket, and the server's, non-blocking, as the server accepts it.
    /// </summary>
    private static async Task<(Socket Client, Socket Accepted)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, Programs.Timeout());
        var accepted = await listener.AcceptAsync(Programs.Timeout());
        return (client, accepted);
    }

    /// <summary>
    /// Serves the accepted socket in the model: the conversation, and the reason it ended, when it has.
    /// </summary>
    private static (Conversation Conversation, Task<string> Ended) Serve(Socket accepted, ThreadNoting handler,
        IConnectionThreads threads)
    {
        var ended = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var conversation = new Conversation(accepted, null, handler, new ClientMemoryBudget(0),
            new BufferPool(1 << 20), threads,
            (_, reason) => ended.TrySetResult(reason));
        conversation.Start();
        return (conversation, ended.Task);
    }

    /// <summary>
    /// A new client, served by the given loop with its own handler: its socket, and when its conversation ended.
    /// </summary>
    private static async Task<(Socket Client, Task<string> Ended)> OnLoopAsync(IConnectionThreads loops,
        ThreadNoting handler)
    {
        var (client, accepted) = await PairAsync();
        return (client, Serve(accepted, handler, loops).Ended);
    }

    [Fact]
    public async Task On_an_event_loop_a_large_request_is_answered_on_the_pool_in_its_place_in_the_pipeline()
    {
        await using var server = InProcessServer.Start("--threading", "loops", "--resp-port", "0");
        await using var monitor = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await monitor.AskAsync("monitor"));
        await using var kv = await server.ConnectAsync();
        await using var resp = await server.ConnectRespAsync();
        // A first request answered, so that the next bytes are read on the connection's loop, not where it was
        // accepted.
        Assert.IsType<Reply.Pong>(await kv.AskAsync("ping"));
        Assert.Equal("+PONG", await resp.AskAsync("PING"));
        var large = new string('x', ClientSession.LargeRequestBytes);
        await kv.SendAsync($"set big {large}\nincr n\n");
        Assert.IsType<Reply.Ok>(await kv.ReadAsync());
        Assert.Equal(new Reply.Value("1"), await kv.ReadAsync());
        Assert.Equal("+OK", await resp.AskAsync("SET", "big2", large));
        Assert.Equal(":2", await resp.AskAsync("INCR", "n"));

        // Each large request on a pool thread: the loop goes on serving its other connections meanwhile.
        var lines = new List<string>();
        for (var i = 0; i < 6; i++) lines.Add(await monitor.ReadLineAsync());
        Assert.Matches(@"^\d+\.\d+ \[\d+ \S+ pool-\d+\] set big xxx", lines[2]);
        Assert.Matches(@"^\d+\.\d+ \[\d+ \S+ pool-\d+\] ""?SET""? ""?big2", lines[4]);
        Assert.Equal(["ping", "PING", "incr n", "INCR n"], new[] { lines[0], lines[1], lines[3], lines[5] }
            .Select(line => line[(line.IndexOf("] ") + 2)..].Replace("\"", "")));

        // A large `subscribe`, answered apart, goes on waiting for messages there: what it defers follows it.
        var channels = string.Join(' ', Enumerable.Range(0, 40_000).Select(i => $"ch{i}"));
        Assert.True(channels.Length > ClientSession.LargeRequestBytes);
        Assert.Equal(new Reply.Counted(40_000), await kv.AskAsync("subscribe " + channels));
        Assert.Equal(":1", await resp.AskAsync("PUBLISH", "ch39999", "hello"));
        Assert.Equal("MESSAGE ch39999 hello", await kv.ReadLineAsync());
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Each_model_answers_a_client_on_its_own_kind_of_thread(string name)
    {
        var model = ThreadingModels.Find(name)!;
        var (client, accepted) = await PairAsync();
        using var _ = client;
        var handler = new ThreadNoting();
        // One loop, so that the loop's thread is named as the test expects.
        using var threads = model is LoopThreading loops ? loops.Open(1) : model.Open();
        var (conversation, ended) = Serve(accepted, handler, threads);
        await using var stream = new NetworkStream(client);
        using var replies = new StreamReader(stream);
        foreach (var request in new[] { "a", "b", "wait", "c" })
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request + "\n"), Programs.Timeout());
            Assert.Equal("ok", await replies.ReadLineAsync(Programs.Timeout()));
        }
        conversation.Interrupt("the test is over");
        Assert.Equal("the test is over", await ended.WaitAsync(Programs.Patience,
            TestContext.Current.CancellationToken));

        var answered = handler.Seen.Where(seen => seen.Request != "deferred").ToList();
        var deferred = handler.Seen.Single(seen => seen.Request == "deferred");
        Assert.Equal(["a", "b", "wait", "c"], answered.Select(seen => seen.Request));
        switch (model.Name)
        {
            case "per-client":
                // One thread, the client's own, for everything, the answer that waits too: it blocks there.
                Assert.Single(handler.Seen.Select(seen => seen.Thread).Distinct());
                Assert.All(handler.Seen, seen => Assert.Equal(("KV client", false), (seen.Name, seen.OnPool)));
                break;
            case "pool":
                Assert.All(handler.Seen, seen => Assert.True(seen.OnPool, $"{seen.Request} was answered off the pool"));
                break;
            case "loops":
                // Answered on the socket's event loop; long work on the pool. (What comes after it may be answered
                // there too, until the conversation waits again.)
                Assert.All(answered.Take(3), seen => Assert.Equal(("KV loop 1", false), (seen.Name, seen.OnPool)));
                Assert.True(deferred.OnPool, "the deferred answer ran on the event loop");
                break;
        }
    }

    [Theory]
    [InlineData("loops", false)]
    [InlineData("pool", true)]
    public async Task Only_the_event_loops_serve_a_client_without_an_asynchronous_context_of_dotnets(string name,
        bool expected)
    {
        var (client, accepted) = await PairAsync();
        using var _ = client;
        using var threads = ThreadingModels.Find(name)!.Open();
        var (conversation, ended) = Serve(accepted, new ThreadNoting(), threads);
        await using var stream = new NetworkStream(client);
        using var replies = new StreamReader(stream);
        await stream.WriteAsync("a\n"u8.ToArray(), Programs.Timeout());
        Assert.Equal("ok", await replies.ReadLineAsync(Programs.Timeout()));
        // .NET's Socket keeps, for its socket engine, a context of a few hundred bytes (private: read by reflection,
        // and the pool's socket shows that the field is the one that holds it). The loops read and write the
        // descriptor (Descriptor.cs) and never make one.
        var context = typeof(SafeSocketHandle).GetField("_asyncContext",
            System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance);
        Assert.NotNull(context);
        Assert.Equal(expected, context.GetValue(accepted.SafeHandle) is not null);
        conversation.Interrupt("the test is over");
        await ended.WaitAsync(Programs.Patience, TestContext.Current.CancellationToken);
    }

    [Fact]
    public void On_one_core_the_pools_idle_threads_sleep_without_spinning_and_elsewhere_keep_dotnets_default()
    {
        Assert.Equal(0, PoolThreading.IdleSpins(processors: 1));
        Assert.Null(PoolThreading.IdleSpins(processors: 2));
        // The name the runtime reads (PortableThreadPool's semaphore): a spelling of our own would be ignored silently.
        Assert.Equal("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", PoolThreading.IdleSpinsSetting);
    }

    [Fact]
    public async Task An_event_loop_ends_a_client_whose_last_bytes_and_end_came_in_one_report()
    {
        // One loop, held by a first client's request, while a second client's request and the end of its stream
        // both arrive: when the loop goes on, epoll reports them together, once.
        using var loops = LoopThreading.Model.Open(1);
        var holding = new ThreadNoting();
        var (holder, _) = await OnLoopAsync(loops, holding);
        var (client, ended) = await OnLoopAsync(loops, new ThreadNoting());
        using (holder)
        using (client)
        {
            await holder.SendAsync("hold\n"u8.ToArray(), Programs.Timeout());
            Assert.True(holding.Holding.Wait(Programs.Patience, TestContext.Current.CancellationToken));
            await client.SendAsync("a\n"u8.ToArray(), Programs.Timeout());
            client.Shutdown(SocketShutdown.Send);
            holding.Held.Set();
            Assert.Equal("closed by the client", await ended.WaitAsync(Programs.Patience,
                TestContext.Current.CancellationToken));
            var reply = new byte[16];
            Assert.Equal("ok\n", Encoding.ASCII.GetString(reply, 0, await client.ReceiveAsync(reply,
                Programs.Timeout())));
        }
    }

    [Fact]
    public async Task A_client_whose_requests_keep_coming_lets_the_other_clients_of_its_loop_go_first()
    {
        // One loop, held by a first client's request while a second sends two thousand requests, each of which keeps
        // its thread busy for a while, and a third sends one. Let go, the loop reads the second client's requests in
        // turns of a bounded time: the third is answered before the second's last, where the loop would have read
        // on to the end of what the second had sent.
        using var loops = LoopThreading.Model.Open(1);
        var holding = new ThreadNoting();
        var (holder, _) = await OnLoopAsync(loops, holding);
        var busy = new ThreadNoting { Quiet = true, Work = TimeSpan.FromMicroseconds(20) };
        var (streamer, accepted) = await PairAsync();
        accepted.ReceiveBufferSize = streamer.SendBufferSize = 4 << 20;
        Serve(accepted, busy, loops);
        var third = new ThreadNoting { Beside = busy };
        var (other, _) = await OnLoopAsync(loops, third);
        using (holder)
        using (streamer)
        using (other)
        {
            await holder.SendAsync("hold\n"u8.ToArray(), Programs.Timeout());
            Assert.True(holding.Holding.Wait(Programs.Patience, TestContext.Current.CancellationToken));
            const int Requests = 2000;
            var line = Encoding.ASCII.GetBytes(new string('x', 999) + "\n");
            await streamer.SendAsync(Enumerable.Repeat(line, Requests).SelectMany(bytes => bytes).ToArray(),
                Programs.Timeout());
            await other.SendAsync("a\n"u8.ToArray(), Programs.Timeout());
            holding.Held.Set();
            var reply = new byte[16];
            Assert.Equal(3, await other.ReceiveAsync(reply, Programs.Timeout()));
            Assert.InRange(third.AnsweredBeside!.Value, 0, Requests - 1);
        }
    }

    [Fact]
    public async Task A_request_that_arrives_while_its_conversation_is_busy_off_the_loop_is_answered()
    {
        // The first client's answer waits on the pool; its next request arrives meanwhile, and its loop, finding it
        // busy, can only leave a note. A second client on the same loop, answered after that arrival (epoll reports
        // in order), shows that the note is there before the first answer is let go.
        using var loops = LoopThreading.Model.Open(1);
        var handler = new ThreadNoting();
        var (client, _) = await OnLoopAsync(loops, handler);
        var (other, _) = await OnLoopAsync(loops, new ThreadNoting());
        using (client)
        using (other)
        {
            await client.SendAsync("park\n"u8.ToArray(), Programs.Timeout());
            await using var replies = new NetworkStream(client);
            using var reader = new StreamReader(replies);
            await handler.Parking.Task.WaitAsync(Programs.Patience, TestContext.Current.CancellationToken);
            await client.SendAsync("a\n"u8.ToArray(), Programs.Timeout());
            await other.SendAsync("b\n"u8.ToArray(), Programs.Timeout());
            var otherReply = new byte[16];
            Assert.Equal(3, await other.ReceiveAsync(otherReply, Programs.Timeout()));
            handler.Parked.SetResult();
            Assert.Equal("ok", await reader.ReadLineAsync(Programs.Timeout()));
            Assert.Equal("ok", await reader.ReadLineAsync(Programs.Timeout()));
        }
    }

    [Fact]
    public void A_thread_a_client_admits_no_more_clients_than_threads_the_machine_allows()
    {
        var allowed = PerClientThreading.ThreadsThisMachineAllows();
        Assert.SkipWhen(allowed == int.MaxValue, "this system says nothing of its bound on threads");
        // Linux's default vm.max_map_count allows a few tens of thousands of mappings, a few a thread.
        Assert.InRange(allowed, 1, 1_000_000 - 1);
        Assert.Equal(allowed, ServerOptions.Parse(["0", "--threading", "per-client", "--max-clients",
            "1000000"]).MaxClients);
        Assert.Equal(1_000_000, ServerOptions.Parse(["0", "--threading", "pool", "--max-clients",
            "1000000"]).MaxClients);
        Assert.Equal(Math.Min(100, allowed), ServerOptions.Parse(["0", "--threading", "per-client", "--max-clients",
            "100"]).MaxClients);
    }
}
