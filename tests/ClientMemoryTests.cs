// tests/ClientMemoryTests.cs: the clients' memory budget on its own, without a server: what a connection holds
// and reserves, what eviction takes back, and the races between them; and the keeper that gives memory back.

using KV;
using Xunit;

public class ClientMemoryTests
{
    private sealed class Owner : IEvictable
    {
        public int Evictions;
        public void Evict(string reason) => Interlocked.Increment(ref Evictions);
    }

    [Fact]
    public async Task An_update_racing_an_eviction_never_leaves_bytes_on_the_evicted_account()
    {
        var owner = new Owner();
        for (var round = 0; round < 3000; round++)
        {
            var budget = new ClientMemoryBudget(limit: 1_000_000);
            var racing = budget.Open(owner);
            var bystander = budget.Open(owner);
            bystander.Hold(100);
            racing.Hold(1000);
            using var start = new Barrier(2);
            var holder = Task.Run(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < 50; i++) racing.Hold(2000 + i);
            }, TestContext.Current.CancellationToken);
            var evicter = Task.Run(() =>
            {
                start.SignalAndWait();
                racing.Evict("test");
            }, TestContext.Current.CancellationToken);
            await Task.WhenAll(holder, evicter);
            Assert.Equal(100, budget.Total);
            racing.Dispose();
            Assert.Equal(100, budget.Total);
        }
    }

    [Fact]
    public void Passing_the_budget_evicts_the_largest_holder_only()
    {
        var small = new Owner();
        var large = new Owner();
        var budget = new ClientMemoryBudget(limit: 10_000);
        var a = budget.Open(small);
        var b = budget.Open(large);
        a.Hold(3000);
        b.Hold(6000);
        a.Hold(4500);
        Assert.Equal(0, small.Evictions);
        Assert.Equal(1, large.Evictions);
        Assert.Equal(4500, budget.Total);
        b.Hold(9000); // an evicted account counts no more
        Assert.Equal(4500, budget.Total);
    }

    [Fact]
    public void A_reservation_that_does_not_fit_is_refused_and_evicts_nobody()
    {
        var owner = new Owner();
        var budget = new ClientMemoryBudget(limit: 10_000);
        var a = budget.Open(owner);
        var b = budget.Open(owner);
        b.Hold(6000);
        Assert.False(a.TryReserve(5000));
        Assert.Equal(6000, budget.Total);
        Assert.True(a.TryReserve(4000));
        Assert.Equal(10_000, budget.Total);
        Assert.Equal(4000, a.Held);
        a.Unreserve(4000);
        Assert.Equal(6000, budget.Total);
        Assert.True(a.TryReserve(1000));
        a.Dispose();
        Assert.Equal(6000, budget.Total);
        Assert.Equal(0, owner.Evictions);
    }

    [Fact]
    public void A_push_that_does_not_fit_closes_the_largest_holder_first_but_an_evicted_account_closes_nobody()
    {
        var owner = new Owner();
        var budget = new ClientMemoryBudget(limit: 10_000);
        var deaf = budget.Open(owner);
        var reader = budget.Open(owner);
        Assert.True(deaf.TryReserve(9000, makeRoom: true));
        // The budget is full: the reader's next message closes the one holding the most, and fits.
        Assert.True(reader.TryReserve(2000, makeRoom: true));
        Assert.Equal(1, owner.Evictions);
        Assert.Equal(2000, budget.Total);
        // The evicted one's own pushes are refused, and close nobody else.
        Assert.False(deaf.TryReserve(100, makeRoom: true));
        Assert.Equal(1, owner.Evictions);
    }
}

public class MemoryKeeperTests
{
    private sealed class Clock : TimeProvider
    {
        public long Ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => Ticks;
    }

    private sealed class Server
    {
        public long Resident = 100L << 20, Held, Trims;
        public readonly Clock Clock = new();
        public MemoryKeeper Keeper() => new(() => Held, _ => Trims++, _ => { }, () => Resident, Clock);
    }

    [Fact]
    public void Memory_is_returned_when_what_is_held_falls_even_if_the_resident_size_did_not_grow()
    {
        var server = new Server();
        var keeper = server.Keeper();
        keeper.Look();
        server.Held = 200L << 20;
        keeper.Look();
        server.Held = 0;
        keeper.Look();
        Assert.Equal(0, server.Trims);
        keeper.Look();
        Assert.Equal(1, server.Trims);
        keeper.Look();
        keeper.Look();
        Assert.Equal(1, server.Trims);
    }

    [Fact]
    public void Memory_is_returned_when_the_resident_size_grows_and_no_more_often_than_its_spacing()
    {
        var server = new Server();
        var keeper = server.Keeper();
        keeper.Look();
        server.Resident += MemoryKeeper.ChangeBytes - 1;
        keeper.Look();
        keeper.Look();
        Assert.Equal(0, server.Trims);
        server.Resident += 2;
        keeper.Look();
        keeper.Look();
        Assert.Equal(1, server.Trims);
        server.Resident += 2 * MemoryKeeper.ChangeBytes;
        keeper.Look();
        keeper.Look();
        Assert.Equal(1, server.Trims);
        server.Clock.Ticks += TimeSpan.TicksPerMinute;
        keeper.Look();
        Assert.Equal(2, server.Trims);
    }
}

public class ReplyBudgetTests
{
    [Fact]
    public async Task A_reply_of_any_command_past_the_budget_is_cut_and_its_connection_closed_with_the_reason()
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-client-memory", "4mb");
        await using var bystander = await server.ConnectRespAsync();
        // A list of 12 MB: a reply of it is three times the budget, made in one step before anything is sent.
        var element = new string('e', 100 * 1024);
        for (var i = 0; i < 120; i++) await bystander.AskAsync("RPUSH", "big", element);

        foreach (var (port, request, error) in new[]
        {
            (server.RespPort, RespConnection.Request("LRANGE", "big", "0", "-1"), "-ERR "),
            (server.RespPort, RespConnection.Request("HGETALL", "nothing"), null),
            (server.Port, System.Text.Encoding.ASCII.GetBytes("lrange big 0 -1\n"), "ERROR: "),
        })
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream,
                System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(System.Net.IPAddress.Loopback, port, Programs.Timeout());
            await socket.SendAsync(request, Programs.Timeout());
            if (error is null)
            {
                // A small reply is never counted: it comes, and the connection stays.
                var small = new byte[16];
                Assert.Equal("*0\r\n", System.Text.Encoding.ASCII.GetString(small, 0,
                    await socket.ReceiveAsync(small, Programs.Timeout())));
                continue;
            }
            var received = System.Text.Encoding.ASCII.GetString(await RawSocket.ReceiveUntilClosedAsync(socket));
            Assert.InRange(received.Length, 1, 6 << 20);
            Assert.EndsWith($"{error}{Conversation.ReplyTooLarge}" + (error == "-ERR " ? "\r\n" : "\n"), received);
        }
        // The others go on, and the list is whole.
        Assert.Equal(":120", await bystander.AskAsync("LLEN", "big"));
    }

    /// <summary>What a command asks of the server it runs in, for a command run alone.</summary>
    internal sealed class NoServer : IServerFacts
    {
        public System.Net.EndPoint Endpoint { get; } = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0);
        public System.Net.EndPoint? EndpointOf(FeatureListener feature) => null;
        public ServerOptions Options { get; } = ServerOptions.Parse(["0"]);
        public int ConnectedClients => 1;
        public long ClientMemory => 0;
        public TimeSpan Uptime => TimeSpan.Zero;
        public ServerActivity Activity { get; } = new(TimeProvider.System);
        public long ClientEvictions => 0;
        public long NextClientId() => 1;
    }

    [Fact]
    public void A_read_whose_reply_was_cut_stops_walking_its_value()
    {
        var session = new RespSession(new KeyValueStore(), new NoServer(),
            new ConnectionAccess(new PasswordGate(null), System.Net.IPAddress.Loopback), null);
        void Run(System.Buffers.IBufferWriter<byte> output, params IEnumerable<string> words)
        {
            var args = new RespArguments([.. words.Select(word =>
                new System.Buffers.ReadOnlySequence<byte>(System.Text.Encoding.UTF8.GetBytes(word)))]);
            RespCommands.Find(args[0])!.Invoke(session, args, output);
        }
        // Values whose replies are several times what a reply may grow to before the budget is asked.
        var numbers = Enumerable.Range(0, 20_000).Select(i => $"element-{i}").ToList();
        var scratch = new System.Buffers.ArrayBufferWriter<byte>();
        Run(scratch, ["RPUSH", "list", .. numbers]);
        Run(scratch, ["HSET", "hash", .. numbers.SelectMany(n => new[] { n, n })]);
        Run(scratch, ["SADD", "set", .. numbers]);
        Run(scratch, ["ZADD", "zset", .. numbers.SelectMany(n => new[] { "1", n })]);
        foreach (var number in numbers) Run(scratch, "XADD", "stream", "*", "field", number);

        foreach (var request in new[]
        {
            new[] { "LRANGE", "list", "0", "-1" }, ["HGETALL", "hash"], ["HVALS", "hash"], ["SMEMBERS", "set"],
            ["ZRANGE", "zset", "0", "-1", "WITHSCORES"], ["XRANGE", "stream", "-", "+"],
            ["XREVRANGE", "stream", "+", "-"], ["XREAD", "STREAMS", "stream", "0"],
        })
        {
            // The budget refuses the reply any room past what it may take freely: it is cut, and the command stops
            // there; unchecked, it formats every element into nowhere (thousands of writes).
            var output = new OutputBuffer(new BufferPool(retainBytes: 1 << 20)) { Growing = new Refusing() };
            Run(output, request);
            Assert.True(output.Overflowed, request[0]);
            Assert.InRange(output.DroppedWrites, 1, 16);
        }
    }

    /// <summary>A budget with no room at all.</summary>
    private sealed class Refusing : IReplyBudget
    {
        public bool TryReserve(long bytes, bool makeRoom = false) => false;
    }
}
