// tests/RobustnessTests.cs: whatever one client does, the others are served and lose nothing. Limits, hostile
// and broken input, memory bounds and 10,000 connections (the model-checked fuzz is in FuzzTests.cs).

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using KV;
using Xunit;

public class LimitTests
{
    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_line_over_the_limit_gets_an_error_and_the_connection_closes(string threading)
    {
        await using var server = InProcessServer.Start("--max-line-bytes", "1000", "--threading", threading);
        await using var bystander = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await bystander.AskAsync("set safe kept"));

        await using var fits = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await fits.AskAsync("set k " + new string('v', 990)));

        await using var endless = await server.ConnectAsync();
        await endless.SendAsync(new string('x', 2000));
        Assert.Equal("request line longer than 1000 bytes",
            Assert.IsType<Reply.Error>(await endless.ReadAsync()).Message);
        Assert.True(await endless.ClosedByServerAsync());

        await using var tooLong = await server.ConnectAsync();
        await tooLong.SendAsync("set k " + new string('v', 1200) + "\nping\n");
        Assert.Equal("request line longer than 1000 bytes",
            Assert.IsType<Reply.Error>(await tooLong.ReadAsync()).Message);
        Assert.True(await tooLong.ClosedByServerAsync());

        Assert.Equal("kept", Assert.IsType<Reply.Value>(await bystander.AskAsync("get safe")).Text);
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task One_client_over_the_maximum_is_refused_and_a_freed_place_is_reused(string threading)
    {
        await using var server = InProcessServer.Start("--max-clients", "5", "--threading", threading);
        await using var admitted = await server.ConnectManyAsync(5);
        foreach (var connection in admitted) Assert.IsType<Reply.Pong>(await connection.AskAsync("ping"));
        await using (var refused = await server.ConnectAsync())
        {
            Assert.Equal("too many clients (max 5)", Assert.IsType<Reply.Error>(await refused.ReadAsync()).Message);
            Assert.True(await refused.ClosedByServerAsync());
            await server.ExpectOutputAsync(@"^! 127\.0\.0\.1:\d+ refused: too many clients \(max 5\)$");
        }

        Assert.IsType<Reply.Bye>(await admitted[0].AskAsync("exit"));
        Assert.True(await admitted[0].ClosedByServerAsync());
        // The freed place is released when the server has seen the close; retry until then.
        Reply reply;
        var attempts = 0;
        do
        {
            await using var attempt = await server.ConnectAsync();
            reply = await attempt.AskAsync("ping");
        }
        while (reply is Reply.Error && ++attempts < 100);
        Assert.IsType<Reply.Pong>(reply);
    }

    [Fact]
    public async Task An_idle_client_is_closed_after_the_idle_timeout_and_others_go_on()
    {
        await using var server = InProcessServer.Start("--idle-timeout", "1");
        await using var idle = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await idle.AskAsync("ping"));
        Assert.True(await idle.ClosedByServerAsync());
        await using var fresh = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await fresh.AskAsync("ping"));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task An_active_client_outlives_the_idle_timeout_and_a_silent_one_is_closed_near_it(string threading)
    {
        // Wide margins: a test thread held up by the rest of the suite must not pass for a silent client.
        await using var server = InProcessServer.Start("--idle-timeout", "4", "--threading", threading);
        await using var silent = await server.ConnectAsync();
        // Started before the request, so that a test thread resumed late after the reply cannot shorten the wait seen.
        var lastRequest = Stopwatch.StartNew();
        Assert.IsType<Reply.Pong>(await silent.AskAsync("ping"));
        var closedAfter = Task.Run(async () =>
        {
            Assert.True(await silent.ClosedByServerAsync());
            return lastRequest.Elapsed;
        }, TestContext.Current.CancellationToken);
        // A client that asks something every 200 ms for five seconds, longer than the timeout, is never idle. Should
        // this test's own thread be held up by the rest of the suite for the whole timeout, the client really was
        // silent that long, and being closed is then right: that, and only that, is accepted.
        await using var active = await server.ConnectAsync();
        var sinceAnswer = Stopwatch.StartNew();
        for (var i = 0; i <= 25; i++)
        {
            try
            {
                Assert.IsType<Reply.Pong>(await active.AskAsync("ping"));
            }
            catch (Exception e) when (e is EndOfStreamException or IOException)
            {
                Assert.True(sinceAnswer.Elapsed >= TimeSpan.FromSeconds(3.9),
                    $"an active client was closed {sinceAnswer.Elapsed} after its last answer");
                break;
            }
            sinceAnswer.Restart();
            if (i < 25) await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        // Not before the timeout (a lower bound: a slow machine only makes it later).
        var after = await closedAfter;
        Assert.True(after >= TimeSpan.FromSeconds(3.9), $"closed {after} after its last request");
    }

    [Fact]
    public async Task Bind_listens_on_the_given_address_only()
    {
        await using var server = InProcessServer.Start("--bind", "127.0.0.1");
        Assert.Equal($"127.0.0.1:{server.Port}", server.Server.Endpoint.ToString());
        await using var v4 = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await v4.AskAsync("ping"));
        using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAsync<SocketException>(async () => await v6.ConnectAsync(IPAddress.IPv6Loopback, server.Port,
            Programs.Timeout()));
    }

    [Fact]
    public async Task Bind_takes_a_host_name_resolved_at_start()
    {
        await using var server = InProcessServer.Start("--bind", "localhost");
        Assert.Equal($"127.0.0.1:{server.Port}", server.Server.Endpoint.ToString());
        await using var connection = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await connection.AskAsync("ping"));
    }

    [Fact]
    public async Task The_default_listener_takes_ipv4_and_ipv6()
    {
        await using var server = InProcessServer.Start();
        using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        await v6.ConnectAsync(IPAddress.IPv6Loopback, server.Port, Programs.Timeout());
        await using var v4 = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await v4.AskAsync("ping"));
    }
}

public class HostileInputTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private InProcessServer Server => shared.Server;

    [Fact]
    public async Task A_megabyte_of_random_bytes_gets_errors_never_a_crash()
    {
        await using var bystander = await Server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await bystander.AskAsync("set random-bystander safe"));

        var garbage = new byte[1024 * 1024];
        new Random(20161).NextBytes(garbage);
        for (var i = 0; i < garbage.Length; i += 997) garbage[i] = 0;
        await using var noisy = await Server.ConnectAsync();
        var replies = Task.Run(async () =>
        {
            var lines = new List<string>();
            try
            {
                while (true) lines.Add(await noisy.ReadLineAsync());
            }
            catch (EndOfStreamException) { }
            return lines;
        });
        await noisy.SendAsync(garbage);
        await noisy.SendAsync("\nexit\n");

        var lines = await replies;
        Assert.Equal("BYE", lines[^1]);
        Assert.All(lines[..^1], line => Assert.StartsWith("ERROR: ", line));
        Assert.Contains("ERROR: " + Errors.InvalidUtf8, lines);
        Assert.Equal("safe", Assert.IsType<Reply.Value>(await bystander.AskAsync("get random-bystander")).Text);
    }

    [Fact]
    public async Task Two_hundred_clients_that_reset_mid_request_cost_nothing_else()
    {
        await using var bystander = await Server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await bystander.AskAsync("set reset-bystander safe"));
        for (var i = 0; i < 200; i++)
        {
            var half = await Server.ConnectAsync();
            await half.SendAsync($"set reset{i} half a val");
            half.Reset();
        }
        await using var fresh = await Server.ConnectAsync();
        Assert.Equal("safe", Assert.IsType<Reply.Value>(await fresh.AskAsync("get reset-bystander")).Text);
        Assert.DoesNotContain(Assert.IsType<Reply.Keys>(await fresh.AskAsync("list")).Names,
            key => key.StartsWith("reset1"));
        Assert.IsType<Reply.Pong>(await bystander.AskAsync("ping"));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_client_killed_in_the_middle_of_a_request_changes_nothing(string threading)
    {
        await using var server = InProcessServer.Start("--threading", threading);
        var script = $"exec 3<>/dev/tcp/127.0.0.1/{server.Port}; printf 'set killed half a valu' >&3; echo ready; " +
            $"sleep 60";
        using var killed = Process.Start(new ProcessStartInfo("bash", ["-c",
            script]) { RedirectStandardOutput = true })!;
        Assert.Equal("ready", await killed.StandardOutput.ReadLineAsync(Programs.Timeout()));
        killed.Kill(entireProcessTree: true);
        await killed.WaitForExitAsync(Programs.Timeout());

        await using var after = await server.ConnectAsync();
        Assert.Equal("key 'killed' not found", Assert.IsType<Reply.Error>(await after.AskAsync("get killed")).Message);
        await server.ExpectOutputAsync("disconnected: closed by the client in the middle of a request");
    }
}

/// <summary>Bounds on the server's memory, measured as its resident set, so on a real process.</summary>
public class MemoryBoundTests : IAsyncLifetime
{
    private ServerProcess Server { get; set; } = null!;
    public async ValueTask InitializeAsync() => Server = await ServerProcess.StartAsync();
    public async ValueTask DisposeAsync() => await Server.DisposeAsync();

    [Fact]
    public async Task A_64_MB_line_without_newline_costs_that_connection_only()
    {
        await using var bystander = await Server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await bystander.AskAsync("set bystander safe"));

        await using var flood = await Server.ConnectAsync();
        var chunk = new byte[1024 * 1024];
        Array.Fill(chunk, (byte)'x');
        var sent = 0;
        try
        {
            for (; sent < 64; sent++) await flood.SendAsync(chunk);
        }
        catch (IOException) { }
        Assert.True(await flood.ClosedByServerAsync());
        var rss = Server.ResidentBytes;
        TestContext.Current.SendDiagnosticMessage($"sent {sent} MB before the close; server RSS {rss >> 20} MB");
        Assert.InRange(rss, 1, 300L * 1024 * 1024);
        Assert.Equal("safe", Assert.IsType<Reply.Value>(await bystander.AskAsync("get bystander")).Text);
    }

    [Fact]
    public async Task A_client_that_never_reads_its_replies_is_held_back_not_buffered()
    {
        await using var setter = await Server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await setter.AskAsync("set big " + new string('b', 100_000)));
        var before = Server.ResidentBytes;

        // 20,000 gets of a 100 kB value ask for 2 GB of replies; unbounded buffering would show in the RSS at once.
        var deaf = await Server.ConnectAsync();
        var requests = string.Concat(Enumerable.Repeat("get big\n", 20_000));
        await deaf.SendAsync(requests);
        Assert.IsType<Reply.Pong>(await setter.AskAsync("ping"));

        // A measurement, not a wait: sample the RSS for a second while the server holds the deaf client back.
        long peak = 0;
        for (var sample = 0; sample < 10; sample++)
        {
            peak = Math.Max(peak, Server.ResidentBytes);
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        TestContext.Current.SendDiagnosticMessage($"RSS before {before / 1024 / 1024} MB, peak while held back " +
            $"{peak / 1024 / 1024} MB");
        Assert.InRange(peak - before, long.MinValue, 100L * 1024 * 1024);
        Assert.Equal(new string('b', 100_000), Assert.IsType<Reply.Value>(await deaf.ReadAsync()).Text);
        deaf.Reset();
        Assert.IsType<Reply.Pong>(await setter.AskAsync("ping"));
    }
}

/// <summary>
/// The two server-wide budgets, each tested by doing what it prevents, on a real process (its RSS is the measure).
/// </summary>
public class MemoryBudgetTests
{
    [Fact]
    public async Task Six_hundred_unfinished_megabyte_lines_cannot_pass_the_client_memory_budget()
    {
        await using var server = await ServerProcess.StartAsync("0", "--max-client-memory", "64mb");
        await using var bystander = await server.ConnectAsync();
        for (var i = 0; i < 100; i++) Assert.IsType<Reply.Ok>(await bystander.AskAsync($"set kept{i} value {i}"));
        var before = server.ResidentBytes;

        await using var clients = await server.ConnectManyAsync(600);
        var chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
        long peak = 0;
        await Parallel.ForEachAsync(clients, new ParallelOptions { MaxDegreeOfParallelism = 32,
            CancellationToken = Programs.Timeout() }, async (client, _) =>
        {
            try
            {
                await client.SendAsync("set big ");
                for (var sent = 0; sent < 15; sent++) await client.SendAsync(chunk);
            }
            catch (IOException) { } // closed by the server for the budget, in the middle of the sending
            Interlocked.Exchange(ref peak, Math.Max(Interlocked.Read(ref peak), server.ResidentBytes));
        });
        // The server reads what the kernel holds for each connection in its own time: wait until it has closed
        // most of them. 600 lines of ~1 MB against 64 MB leave room for about 60.
        await server.ExpectOutputAsync(@"disconnected: client memory limit reached \(\d+ bytes held by all clients\)",
            count: 500);
        peak = Math.Max(peak, server.ResidentBytes);

        // A connection the budget closed has its ERROR and its end waiting; the others wait for the rest of their line.
        var evicted = clients.Where(c => c.Socket.Poll(0, SelectMode.SelectRead)).ToList();
        foreach (var client in evicted.Take(20))
            Assert.StartsWith("client memory limit reached (",
                Assert.IsType<Reply.Error>(await client.ReadAsync()).Message);
        var after = server.ResidentBytes;
        TestContext.Current.SendDiagnosticMessage($"RSS before {before >> 20} MB, peak {peak >> 20} MB, after " +
            $"{after >> 20} MB; {evicted.Count} of 600 closed");
        Assert.InRange(evicted.Count, 500, 600);
        // The budget, plus the runtime's own: the GC's young-generation allocation budget and 600 connections' objects.
        Assert.InRange(Math.Max(peak, after), 1, before + (64L << 20) + (80L << 20));

        await using var fresh = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await fresh.AskAsync("ping"));
        for (var i = 0; i < 100; i++) Assert.Equal($"value {i}",
            Assert.IsType<Reply.Value>(await bystander.AskAsync($"get kept{i}")).Text);
    }

    [Fact]
    public async Task Memory_clients_made_the_server_hold_goes_back_once_they_leave()
    {
        await using var server = await ServerProcess.StartAsync("0", "--max-client-memory", "128mb");
        await using (var first = await server.ConnectAsync()) Assert.IsType<Reply.Pong>(await first.AskAsync("ping"));
        var before = server.ResidentBytes;
        var chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
        long peak;
        await using (var clients = await server.ConnectManyAsync(200))
        {
            await Parallel.ForEachAsync(clients, new ParallelOptions { MaxDegreeOfParallelism = 16,
                CancellationToken = Programs.Timeout() }, async (client, _) =>
            {
                try
                {
                    await client.SendAsync("set big ");
                    for (var sent = 0; sent < 15; sent++) await client.SendAsync(chunk);
                }
                catch (IOException) { }
            });
            // The server has read what the budget allows (it closes the largest holders past it): the rest of the
            // budget is held.
            await server.ExpectOutputAsync("disconnected: client memory limit reached", count: 50);
            peak = server.ResidentBytes;
        }
        await server.ExpectOutputAsync(@"disconnected: .* \(0 clients\)$");
        // Once they have all gone, the keeper sees the resident size stand well beyond what is held, and gives it
        // back: unless a collection as they left has done it already, wait for the next one.
        var after = server.ResidentBytes;
        if (after > before + (80L << 20))
        {
            await server.ExpectOutputAsync("memory returned", count: Regex.Matches(server.Output,
                "memory returned").Count + 1);
            after = server.ResidentBytes;
        }
        TestContext.Current.SendDiagnosticMessage($"RSS before {before >> 20} MB, with 200 unfinished megabyte lines " +
            $"{peak >> 20} MB, after they left {after >> 20} MB");
        Assert.InRange(after, 1, before + (80L << 20));
    }

    [Fact]
    public async Task The_store_refuses_a_set_past_max_memory_keeps_every_key_and_a_delete_makes_room()
    {
        await using var server = await ServerProcess.StartAsync("0", "--max-memory", "32mb", "--resp-port", "0");
        var before = server.ResidentBytes;
        await using var c = await server.ConnectAsync();
        var value = new string('v', 10_000);
        // Pipelined, 100 at a time, until the first refusal: every set before it was stored, none after it.
        var stored = 0;
        string? refusal = null;
        while (refusal is null)
        {
            await c.SendAsync(string.Concat(Enumerable.Range(stored, 100).Select(i => $"set fill{i} {value}\n")));
            for (var i = 0; i < 100; i++)
            {
                var reply = await c.ReadAsync();
                if (reply is Reply.Error(var message)) refusal ??= message;
                else if (refusal is null) stored++;
                else Assert.Fail($"a set after the refusal was stored: {reply}");
            }
        }
        Assert.Matches(@"^out of memory: the store holds \d+ of its 33554432 bytes " +
            @"\(delete keys or raise --max-memory\)$", refusal);
        Assert.InRange(stored, 3000, 3400);

        await c.SendAsync(string.Concat(Enumerable.Range(0, stored + 1).Select(i => $"get fill{i}\n")));
        for (var i = 0; i < stored; i++) Assert.Equal(value, Assert.IsType<Reply.Value>(await c.ReadAsync()).Text);
        Assert.IsType<Reply.Error>(await c.ReadAsync());
        Assert.IsType<Reply.Keys>(await c.AskAsync("list"));
        Assert.IsType<Reply.Ok>(await c.AskAsync("del fill0"));
        Assert.IsType<Reply.Ok>(await c.AskAsync($"set one-more {value}"));
        Assert.IsType<Reply.Error>(await c.AskAsync($"set two-more {value}"));
        await using var resp = await RespConnection.OpenAsync(int.Parse(Regex.Match(server.Output,
            @"RESP on \S+:(\d+)").Groups[1].Value));
        Assert.Equal("-OOM command not allowed when used memory > 'maxmemory'.", await resp.AskAsync("set", "resp-more",
            value));

        var after = server.ResidentBytes;
        TestContext.Current.SendDiagnosticMessage($"{stored} values of 10 kB; RSS before {before >> 20} MB, after " +
            $"{after >> 20} MB");
        // The budget, plus the runtime's own (the GC's young generation between collections).
        Assert.InRange(after, 1, before + (32L << 20) + (48L << 20));
    }
}

/// <summary>10,000 clients at once: every one is answered, under a bounded number of threads and memory.</summary>
[Collection(nameof(TenThousandClients))]
public class TenThousandClients
{
    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Ten_thousand_concurrent_connections_all_answer_ping(string threading)
    {
        var openFiles = long.Parse(Regex.Match(File.ReadAllText("/proc/self/limits"),
            @"Max open files\s+(\d+)").Groups[1].Value);
        var target = (int)Math.Min(10_000, openFiles - 500);
        if (threading == PerClientThreading.Model.Name) target = Math.Min(target,
            PerClientThreading.ThreadsThisMachineAllows() - 10);
        TestContext.Current.SendDiagnosticMessage($"open-file limit {openFiles}: {target} connections");

        await using var server = await ServerProcess.StartAsync("0", "--threading", threading);
        await using (var first = await server.ConnectAsync()) Assert.IsType<Reply.Pong>(await first.AskAsync("ping"));
        var before = server.ResidentBytes;
        await using var connections = await server.ConnectManyAsync(target);
        await Parallel.ForEachAsync(connections, new ParallelOptions { MaxDegreeOfParallelism = 64,
            CancellationToken = Programs.Timeout() },
            async (c, _) => Assert.IsType<Reply.Pong>(await c.AskAsync("ping")));
        var threads = server.Threads;
        var rss = server.ResidentBytes;
        var perConnection = (rss - before) / target;
        TestContext.Current.SendDiagnosticMessage($"{target} connections: server threads {threads}, RSS " +
            $"{before >> 20} to {rss >> 20} MB, {perConnection} bytes a connection");
        if (threading == PerClientThreading.Model.Name)
        {
            // A thread each: the lesson of the model. Its stack's touched pages and the kernel's bookkeeping cost more
            // than the connection itself.
            Assert.InRange(threads, target, target + 64);
            Assert.InRange(perConnection, 0, 64 * 1024);
        }
        else
        {
            // Bounded by the pool's cap (max(16, 4 x cores)), a loop a core and the runtime's own threads, not by the
            // connections. An idle connection holds its socket and its Conversation, no buffer, task or thread: about
            // 3 KB of resident memory, where one buffer block held would add BlockSize more. The bound sits between the
            // two, with room for what RSS also carries (garbage not yet collected, pages the GC keeps).
            Assert.InRange(threads, 1, Math.Max(16, 4 * Environment.ProcessorCount) + Environment.ProcessorCount + 47);
            Assert.InRange(perConnection, 0, 3 * 1024 + BufferPool.BlockSize * 3 / 4);
        }
        await using var fresh = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await fresh.AskAsync("ping"));
    }
}

[CollectionDefinition(nameof(TenThousandClients), DisableParallelization = true)]
public class TenThousandClientsCollection;
