// tests/RaceTests.cs: what a concurrent reader can see, in every threading model. Many clients of both protocols
// send random requests over a few groups of keys, pipelined, some dropping their connection midway; every request
// and reply is recorded with its times (src/checking/Recording.cs), and the linearizability checker judges the whole
// history against the sequential model. Beside it, the three torn reads that were once seen, counted directly.

using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using KV;
using Xunit;

[Collection(nameof(CpuBound))]
public class RaceTests
{
    /// <summary>The keys: a few groups of two, so that each group sees many clients at once and the checks stay small.
    /// </summary>
    private static readonly string[][] Groups = [["g0:a", "g0:b"], ["g1:a", "g1:b"], ["g2:a", "g2:b"]];

    /// <summary>Keys that hold lists, apart from the others, so that no request meets a key of another kind.</summary>
    private static readonly string[][] Queues = [["q0:a", "q0:b"], ["q1:a", "q1:b"]];

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Concurrent_clients_of_both_protocols_leave_a_linearizable_history(string model)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--threading", model);
        var history = new Recording();
        var clients = Enumerable.Range(0, 10)
            .Select(client => RunClientAsync(server, history, client, resp: client % 3 != 0));
        await Task.WhenAll(clients);
        var operations = history.Operations;
        Assert.True(operations.Count > 1_500, $"only {operations.Count} operations were recorded");
        var verdict = Linearizability.Check(operations, TimeSpan.FromSeconds(60));
        Assert.False(verdict.TimedOut, verdict.Explain());
        Assert.True(verdict.Linearizable, verdict.Explain());
    }

    /// <summary>
    /// One client's requests, in batches of one to four written at once. About one batch in sixty is one request
    /// followed by half of another, and the connection dropped without reading: that reply is unknown (the request may
    /// or may not have been served), and the client reconnects. Each unanswered write multiplies the orders the checker
    /// must consider, so they are kept few.
    /// </summary>
    private static async Task RunClientAsync(InProcessServer server, Recording history, int client, bool resp)
    {
        var random = new Random(client);
        var written = 0;
        var connection = client; // the number its operations are recorded under: a new one each time it reconnects
        RespConnection? respConnection = null;
        Connection? lineConnection = null;
        try
        {
            for (var batch = 0; batch < 120; batch++)
            {
                var drop = random.Next(60) == 0;
                var commands = Enumerable.Range(0, drop ? 1 : random.Next(1, 5))
                    .Select(_ => NextCommand(random, client, ref written, resp)).ToList();
                var call = Recording.Now;
                if (resp)
                {
                    respConnection ??= await server.ConnectRespAsync();
                    await respConnection.SendAsync(commands.SelectMany(RespRequest).ToArray());
                    if (!drop)
                        foreach (var command in commands)
                        {
                            // MULTI's +OK and a +QUEUED for each queued command come before EXEC's reply.
                            if (command.Name == "exec")
                                for (var i = 0; i <= command.Batch.Length; i++) await respConnection.ReadAsync();
                            history.Add(connection, call, command, FromResp(command, await respConnection.ReadAsync()));
                        }
                }
                else
                {
                    lineConnection ??= await server.ConnectAsync();
                    await lineConnection.SendAsync(string.Concat(commands.Select(command => command + "\n")));
                    if (!drop)
                        foreach (var command in commands)
                            history.Add(connection, call, command, FromLine(command, await lineConnection.ReadAsync()));
                }
                if (!drop) continue;
                foreach (var command in commands) history.Add(connection, call, command, null);
                connection += 1_000;
                if (respConnection is not null) await respConnection.SendAsync("*2\r\n$3\r\nGET\r\n$4\r\ng0");
                if (lineConnection is not null) await lineConnection.SendAsync("get g0");
                await DisposeAsync();
            }
        }
        finally
        {
            await DisposeAsync();
        }

        async Task DisposeAsync()
        {
            if (respConnection is not null) await respConnection.DisposeAsync();
            if (lineConnection is not null) await lineConnection.DisposeAsync();
            (respConnection, lineConnection) = (null, null);
        }
    }

    /// <summary>A random request on one group of keys; values are unique numbers: a read says which write it saw.
    /// </summary>
    private static Command NextCommand(Random random, int client, ref int written, bool resp)
    {
        var group = Groups[random.Next(Groups.Length)];
        var (a, b) = (group[0], group[1]);
        var value = (client * 100_000 + ++written).ToString();
        if (random.Next(3) == 0) return NextListCommand(random, Queues[random.Next(Queues.Length)], value, resp);
        var choices = resp ? 14 : 6;
        return random.Next(choices) switch
        {
            0 => Command.Of("get", a),
            1 => Command.Of("set", a, value),
            2 => Command.Of("incr", b),
            3 => Command.Of("del", a),
            4 => Command.Of("expire", b, "1000"),
            5 => Command.Of("ttl", b),
            6 => Command.Of("mget", a, b),
            7 => Command.Of("mset", a, value, b, value),
            8 => Command.Of("rename", a, b),
            9 => Command.Exec(Command.Of("incr", a), Command.Of("incr", b)),
            10 => Command.Of("del", a, b),
            11 => Command.Exec(Command.Of("set", b, value), Command.Of("get", a)),
            12 => Command.Script(Command.Of("incr", a), Command.Of("incr", b)),
            _ => Command.Script(Command.Of("get", b), Command.Of("set", a, value), Command.Of("del", b)),
        };
    }

    /// <summary>A random request on a pair of lists: pushes of unique values and pops say which push they saw.
    /// </summary>
    private static Command NextListCommand(Random random, string[] queue, string value, bool resp)
    {
        var (a, b) = (queue[0], queue[1]);
        return random.Next(resp ? 10 : 5) switch
        {
            0 => Command.Of("rpush", a, value),
            1 => Command.Of("lpush", a, value),
            2 => Command.Of("lpop", a),
            3 => Command.Of("rpop", a),
            4 => Command.Of("llen", a),
            5 => Command.Of("lmove", a, b),
            6 => Command.Of("blpop", b, "0.01"),
            7 => Command.Exec(Command.Of("rpush", b, value), Command.Of("lpop", a)),
            8 => Command.Of("rename", a, b),
            _ => Command.Script(Command.Of("lpop", b), Command.Of("rpush", a, value)),
        };
    }

    private static byte[] RespRequest(Command command) => command.Name switch
    {
        "exec" => [.. RespConnection.Request("MULTI"), .. command.Batch.SelectMany(RespRequest),
            .. RespConnection.Request("EXEC")],
        "eval" => RespConnection.Request(["EVAL", ScriptOf(command.Batch), "0",
            .. command.Batch.SelectMany(c => c.Args)]),
        "lmove" => RespConnection.Request(["LMOVE", .. command.Args, "LEFT", "RIGHT"]),
        _ => RespConnection.Request([command.Name, .. command.Args]),
    };

    /// <summary>
    /// A script that runs the batch as one step and returns every reply: `return {redis.call('incr', ARGV[1]), ...}`.
    /// </summary>
    private static string ScriptOf(IEnumerable<Command> batch)
    {
        var next = 0;
        var calls = batch.Select(c => $"redis.call('{c.Name}'" + string.Concat(c.Args.Select(_ => $", ARGV[{++next}]"))
            + ")");
        return $"return {{{string.Join(", ", calls)}}}";
    }

    /// <summary>A RESP reply (as RespConnection writes it: `+OK`, `:1`, `$v`, `$nil`, `*2[:1,:2]`) in the history's
    /// words.</summary>
    private static string FromResp(Command command, string reply)
    {
        var text = reply switch
        {
            ['-', ..] => "ERR",
            "$nil" or "_" => "nil",
            ['*', ..] => "[" + string.Join(",", Regex.Match(reply, @"\[(.*)\]").Groups[1].Value.Split(',')
                .Select(item => FromResp(Command.Of("get"), item))) + "]",
            [_, .. var rest] => rest,
            _ => reply,
        };
        return command.Name == "ttl" && long.Parse(text) >= 0 ? "+" : text;
    }

    /// <summary>A reply of KV's own protocol in the history's words: a missing key is nil, -2 or 0, as in Redis.
    /// </summary>
    private static string FromLine(Command command, Reply reply) => (command.Name, reply) switch
    {
        ("get", Reply.Error) => "nil",
        ("del" or "expire", Reply.Ok) => "1",
        ("del" or "expire", Reply.Error) => "0",
        ("ttl", Reply.Error) => "-2",
        ("ttl", Reply.Ttl(null)) => "-1",
        ("ttl", Reply.Ttl) => "+",
        ("lpop" or "rpop", Reply.Error) => "nil",
        (_, Reply.Counted(var count)) => count.ToString(),
        (_, Reply.Value(var value)) => value,
        (_, Reply.Ok) => "OK",
        _ => $"unexpected reply {reply}",
    };

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_reader_never_sees_half_of_a_transaction_an_mset_or_a_rename(string model)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--threading", model);
        await using (var setup = await server.ConnectRespAsync()) await setup.AskAsync("SET", "r1", "moving");
        using var done = new CancellationTokenSource();
        var writers = Task.WhenAll(
            WriteAsync(server, i => [["MULTI"], ["INCR", "x"], ["INCR", "y"], ["EXEC"]]),
            WriteAsync(server, i => [["MSET", "a", $"{i}", "b", $"{i}", "c", $"{i}"]]),
            WriteAsync(server, i => [i % 2 == 0 ? ["RENAME", "r1", "r2"] : ["RENAME", "r2", "r1"]]));
        var torn = new List<string>();
        var reads = 0;
        async Task ReadAsync(string[] keys, Func<string, bool> whole)
        {
            await using var reader = await server.ConnectRespAsync();
            while (!writers.IsCompleted)
            {
                var seen = await reader.AskAsync(["MGET", .. keys]);
                Interlocked.Increment(ref reads);
                if (!whole(seen)) lock (torn) torn.Add(seen);
            }
        }
        static bool AllEqual(string reply) =>
            Regex.Match(reply, @"\[(.*)\]").Groups[1].Value.Split(',').Distinct().Count() == 1;
        await Task.WhenAll(
            ReadAsync(["x", "y"], AllEqual),
            ReadAsync(["a", "b", "c"], AllEqual),
            ReadAsync(["r1", "r2"], reply => reply is "*2[$moving,$nil]" or "*2[$nil,$moving]"),
            writers);
        Assert.True(torn.Count == 0,
            $"{torn.Count} of {reads} reads saw half a write: {string.Join(" ", torn.Take(5))}");
    }

    /// <summary>A writer: 1,500 rounds of the requests `round` gives, each round pipelined in one write.</summary>
    private static async Task WriteAsync(InProcessServer server, Func<int, string[][]> round)
    {
        await using var writer = await server.ConnectRespAsync();
        for (var i = 0; i < 1_500; i++)
        {
            var requests = round(i);
            await writer.SendAsync(requests.SelectMany(request => RespConnection.Request(request)).ToArray());
            foreach (var _ in requests)
                if (await writer.ReadAsync() is ['-', ..] error) throw new InvalidOperationException(error);
        }
    }

    [Fact]
    public async Task Without_its_lock_the_store_races_and_the_server_survives()
    {
        await using var server = InProcessServer.Start("--bind", "127.0.0.1", "--unsafe-no-lock");
        Assert.True(server.Server.Options.UnsafeNoLock);
        var history = new Recording();
        var cut = 0;
        // Eight clients pipeline increments of one counter; without the lock, two may read the same value, and a
        // request that meets a damaged table closes its connection (internal error): that client stops there.
        await Task.WhenAll(Enumerable.Range(1, 8).Select(async client =>
        {
            await using var connection = await server.ConnectAsync();
            try
            {
                for (var batch = 0; batch < 40; batch++)
                {
                    var call = Recording.Now;
                    await connection.SendAsync(string.Concat(Enumerable.Repeat("incr counter\n", 50)));
                    for (var i = 0; i < 50; i++)
                        history.Add(client, call, Command.Of("incr", "counter"), await connection.ReadAsync() switch
                        {
                            Reply.Value(var value) => value,
                            var other => $"unexpected {other}",
                        });
                }
            }
            catch (Exception e) when (e is EndOfStreamException or IOException or SocketException)
            {
                Interlocked.Increment(ref cut);
            }
        }));
        var operations = history.Operations;
        // A number written twice is a lost update; then the checker must say so. (When a connection was cut, its last
        // requests' fate is unknown and unrecorded: the history is then incomplete, and not judged.)
        if (cut == 0 && operations.Select(o => o.Output).Distinct().Count() < operations.Count)
            Assert.False(Linearizability.Check(operations, TimeSpan.FromSeconds(60)).Linearizable);
        // Whatever the table went through, the server is still there, and serves a new client.
        await using var after = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await after.AskAsync("ping"));
    }

    [Fact]
    public async Task The_store_without_its_lock_is_refused_beyond_loopback_and_named_in_capitals()
    {
        await using (var refused = await ServerProcess.LaunchAsync("0", "--unsafe-no-lock"))
        {
            Assert.Equal(2, await refused.ExitCodeAsync(Programs.Patience));
            Assert.Contains("ERROR: --unsafe-no-lock needs --bind 127.0.0.1", refused.Output);
        }
        await using var server = await ServerProcess.StartAsync("0", "--bind", "127.0.0.1", "--unsafe-no-lock");
        Assert.Contains("STORE LOCK OFF: UNSAFE, DATA RACES ON PURPOSE", server.Output);
    }
}
