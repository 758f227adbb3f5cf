// tests/WatchingTests.cs: watching the server work, against a live server: `monitor` (both protocols, every
// threading model, passwords never shown, a monitor that falls behind), `stats` and INFO counting as requests are
// made, and `incr` keeping every update of many clients at once.

using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using KV;
using Xunit;

public class MonitorTests
{
    private const string Password = "hunter2-secret";

    /// <summary>
    /// What a KV monitor line looks like: time with microseconds, [client id, address, thread], the request.
    /// </summary>
    private static string KvLine(string thread, string request) =>
        $@"^\d{{10}}\.\d{{6}} \[\d+ 127\.0\.0\.1:\d+ {thread}-\d+\] {Regex.Escape(request)}$";

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_monitor_sees_other_clients_requests_and_their_threads_and_never_the_password(string threading)
    {
        await using var server = InProcessServer.Start("--password", Password, "--threading", threading);
        await using var monitor = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await monitor.AskAsync("auth " + Password));
        Assert.IsType<Reply.Ok>(await monitor.AskAsync("monitor"));

        await using var other = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await other.AskAsync("auth " + Password));
        Assert.IsType<Reply.Ok>(await other.AskAsync("set greeting hello world"));

        // Under loops, a request that comes while its conversation still finishes an answer that waited (auth's turn)
        // on the pool is read there: a pool thread is then as right as a loop.
        var thread = threading switch { "per-client" => "client", "loops" => "(loop|pool)", _ => "pool" };
        var auth = await monitor.ReadLineAsync();
        // A connection's first bytes may be read where it was accepted, on a pool thread, before its loop has it.
        Assert.Matches(KvLine("(pool|client|loop)", "auth (redacted)"), auth);
        Assert.Matches(KvLine(thread, "set greeting hello world"), await monitor.ReadLineAsync());
        Assert.DoesNotContain(Password, auth);
    }

    [Fact]
    public async Task A_resp_monitor_shows_requests_of_both_protocols_in_redis_format()
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--password", Password);
        await using var monitor = await server.ConnectRespAsync();
        Assert.Equal("+OK", await monitor.AskAsync("AUTH", Password));
        Assert.Equal("+OK", await monitor.AskAsync("MONITOR"));

        await using var kv = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await kv.AskAsync("auth " + Password));
        Assert.IsType<Reply.Ok>(await kv.AskAsync("set k two words"));
        await using var resp = await server.ConnectRespAsync();
        Assert.Equal("+OK", await resp.AskAsync("AUTH", "default", Password));
        Assert.Equal(":5", await resp.AskAsync("INCRBY", "n", "5"));

        const string Head = @"^\+\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] ";
        Assert.Matches(Head + Regex.Escape("\"auth\" \"(redacted)\"") + "$", await monitor.ReadAsync());
        Assert.Matches(Head + Regex.Escape("\"set\" \"k\" \"two words\"") + "$", await monitor.ReadAsync());
        Assert.Matches(Head + Regex.Escape("\"AUTH\" \"(redacted)\" \"(redacted)\"") + "$", await monitor.ReadAsync());
        Assert.Matches(Head + Regex.Escape("\"INCRBY\" \"n\" \"5\"") + "$", await monitor.ReadAsync());
    }

    [Fact]
    public async Task A_long_value_is_shown_shortened_with_its_length_and_a_control_character_never_raw()
    {
        await using var server = InProcessServer.Start();
        await using var monitor = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await monitor.AskAsync("monitor"));
        await using var other = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await other.AskAsync("set long " + new string('é', 100)));
        Assert.IsType<Reply.Ok>(await other.AskAsync("set escape \u001b[31mred"));

        Assert.EndsWith($"] set long {new string('é', 40)}... (200 bytes)", await monitor.ReadLineAsync());
        Assert.EndsWith("] set escape \"\\x1b[31mred\"", await monitor.ReadLineAsync());
    }

    [Fact]
    public async Task A_request_typed_in_the_quoted_form_is_shown_decoded_and_quoted_again_where_needed()
    {
        await using var server = InProcessServer.Start();
        await using var monitor = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await monitor.AskAsync("monitor"));
        await using var other = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await other.AskAsync("set \"a b\" \"x\\ny\""));
        Assert.IsType<Reply.Ok>(await other.AskAsync("set \"plain\" two words"));
        Assert.EndsWith("] set \"a b\" \"x\\ny\"", await monitor.ReadLineAsync());
        Assert.EndsWith("] set plain two words", await monitor.ReadLineAsync());
    }

    [Fact]
    public async Task The_monitoring_clients_next_request_ends_monitoring_and_is_answered()
    {
        await using var server = InProcessServer.Start();
        await using var monitor = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await monitor.AskAsync("monitor"));
        Assert.IsType<Reply.Pong>(await monitor.AskAsync("ping"));
        await using var other = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await other.AskAsync("set after 1"));
        // No monitor line came before the reply: the connection answers requests again.
        Assert.IsType<Reply.Value>(await monitor.AskAsync("get after"));
        Assert.Contains(await StatsTests.ReadAsync(other), s => s is { Name: "monitors", Value: "0" });
    }

    [Fact]
    public async Task A_request_sent_with_monitor_ends_it_at_once_and_is_answered()
    {
        await using var server = InProcessServer.Start();
        await using var client = await server.ConnectAsync();
        await client.SendAsync("monitor\nping\n");
        Assert.IsType<Reply.Ok>(await client.ReadAsync());
        Assert.IsType<Reply.Pong>(await client.ReadAsync());
    }

    [Fact]
    public async Task A_ninth_monitor_is_refused_and_the_eight_go_on()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        var monitors = new List<Connection>();
        for (var i = 0; i < MonitorFeed.Max; i++)
        {
            monitors.Add(await server.ConnectAsync());
            Assert.IsType<Reply.Ok>(await monitors[^1].AskAsync("monitor"));
        }
        await using var ninth = await server.ConnectAsync();
        Assert.Equal(new Reply.Error($"too many monitors (max {MonitorFeed.Max}): each one costs every request a copy"),
            await ninth.AskAsync("monitor"));
        await using var resp = await server.ConnectRespAsync();
        Assert.StartsWith("-ERR too many monitors", await resp.AskAsync("MONITOR"));
        // The refused connection is an ordinary one again.
        Assert.IsType<Reply.Ok>(await ninth.AskAsync("set seen 1"));
        foreach (var monitor in monitors)
        {
            // Each sees the later monitors' `monitor` and the refused ones too: a refused request is still one that was
            // made.
            var seen = new List<string>();
            while (seen.Count < MonitorFeed.Max + 2 && !(seen.LastOrDefault()
                ?? "").EndsWith("] set seen 1")) seen.Add(await monitor.ReadLineAsync());
            Assert.EndsWith("] set seen 1", seen[^1]);
            Assert.EndsWith("] MONITOR", seen[^2]);
            await monitor.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_monitor_that_never_reads_is_closed_at_the_memory_budget_and_the_others_go_on()
    {
        await using var server = InProcessServer.Start("--max-client-memory", "2mb", "--idle-timeout", "0");
        await using var monitor = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await monitor.AskAsync("monitor"));

        // Far more lines than the sockets' buffers and the budget hold, from a client that reads every reply.
        await using var writer = await server.ConnectAsync();
        var value = new string('v', 200);
        for (var batch = 0; batch < 40; batch++)
        {
            await writer.SendAsync(string.Concat(Enumerable.Range(0, 1000).Select(i => $"set k{i} {value}\n")));
            for (var i = 0; i < 1000; i++) Assert.IsType<Reply.Ok>(await writer.ReadAsync());
        }

        // Its last word may not reach a client that does not read: the log says why it was closed.
        await server.ExpectOutputAsync("disconnected: (monitor fell behind|client memory limit reached)");
        Assert.True(await monitor.ClosedByServerAsync());
        Assert.IsType<Reply.Value>(await writer.AskAsync("get k1"));
        Assert.Contains(await StatsTests.ReadAsync(writer),
            s => s.Name == "connections_closed_by_limit" && long.Parse(s.Value) >= 1);
    }
}

/// <summary>MonitorFeed on its own, with a reply context that stands for the monitoring connection.</summary>
public class MonitorFeedTests
{
    private static ObservedRequest Request(int i) =>
        new(DateTimeOffset.UnixEpoch, 1, "127.0.0.1:5000", "pool-1", Typed: true, [ObservedWord.Of("set"u8),
            ObservedWord.Of(Encoding.UTF8.GetBytes($"k{i}")), ObservedWord.Of(new byte[200])]);

    [Fact]
    public async Task A_monitor_that_does_not_read_is_closed_by_the_posting_thread_at_the_budget()
    {
        var activity = new ServerActivity(TimeProvider.System);
        var stuck = new TaskCompletionSource();
        var context = new StoreTests.CapturedReply(budget: 10_000) { Reading = stuck.Task };
        var running = new MonitorFeed(activity, ReplyWriter.Ok, (output,
            request) => output.Write(Encoding.UTF8.GetBytes(request.KvLine() + "\n"))).RunAsync(context).AsTask();

        for (var i = 0; i < 1000 && context.Evicted is null; i++) activity.Observers.Publish(Request(i));

        Assert.StartsWith("monitor fell behind: ", context.Evicted);
        Assert.InRange(context.Reserved, 1, 10_000);
        Assert.Equal(1, activity.ClosedByLimits);
        // Its conversation ends it (here: the flush gives up); what it had queued is given back to the budget.
        stuck.SetResult();
        Assert.Null(await running);
        Assert.Equal(0, context.Reserved);
        Assert.Equal(0, activity.Observers.Count);
    }

    [Fact]
    public async Task A_request_is_encoded_once_for_every_monitor_that_writes_it()
    {
        var request = Request(1);
        var encodings = 0;
        byte[] Encode(ObservedRequest r)
        {
            Interlocked.Increment(ref encodings);
            return Encoding.UTF8.GetBytes(r.KvLine());
        }
        var first = request.Encoded(0, Encode);
        Assert.Same(first, request.Encoded(0, Encode));
        Assert.Equal(1, encodings);
        // Eight monitors' threads at once: whoever encodes first, all of them write the same bytes.
        var lines = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => request.Encoded(1, Encode))));
        Assert.All(lines, line => Assert.Same(lines[0], line));
        Assert.NotSame(first, lines[0]);
    }

    [Fact]
    public async Task A_monitor_stops_when_its_client_speaks_and_then_takes_no_more()
    {
        var activity = new ServerActivity(TimeProvider.System);
        var context = new StoreTests.CapturedReply();
        var running = new MonitorFeed(activity, ReplyWriter.Ok, (output,
            request) => output.Write(Encoding.UTF8.GetBytes(request.KvLine() + "\n"))).RunAsync(context).AsTask();
        activity.Observers.Publish(Request(1));
        context.Spoke.SetResult();
        Assert.Null(await running);
        activity.Observers.Publish(Request(2));
        Assert.Equal(0, activity.Observers.Count);
        Assert.DoesNotContain(context.Lines, line => line.Contains(" k2 "));
        Assert.Equal(0, context.Reserved);
    }
}

public class StatsTests
{
    public static async Task<IReadOnlyList<Stat>> ReadAsync(Connection connection) =>
        Assert.IsType<Reply.Stats>(await connection.AskAsync("stats")).Figures;

    private static long Figure(IReadOnlyList<Stat> stats,
        string name) => long.Parse(stats.Single(s => s.Name == name).Value);

    [Fact]
    public async Task Stats_names_every_figure_and_its_counts_move_as_requests_are_made()
    {
        await using var server = InProcessServer.Start("--max-clients", "2", "--max-line-bytes", "100", "--threading",
            "loops");
        await using var client = await server.ConnectAsync();
        var before = await ReadAsync(client);
        Assert.Equal(
            ["threading", "clients", "max_clients", "monitors", "pubsub_channels", "pubsub_patterns",
                "messages_published", "subscribers_dropped", "scripts_cached", "scripts_memory", "scripts_killed",
                "blocked_clients", "process_threads", "pool_threads", "pool_threads_max",
                "pool_queued",
             "requests", "requests_last_second", "connections_accepted", "connections_refused",
                 "connections_closed_by_limit",
             "keys", "stored_bytes", "max_memory", "max_memory_policy", "evicted_keys", "client_memory",
                 "max_client_memory", "rss_bytes", "gc_heap_bytes", "uptime_seconds"],
            before.Select(s => s.Name));
        Assert.Equal("loops", before[0].Value);

        for (var i = 0; i < 10; i++) Assert.IsType<Reply.Ok>(await client.AskAsync($"set key{i} {i}"));
        await using (var second = await server.ConnectAsync())
        {
            await using var refused = await server.ConnectAsync();
            Assert.True(await refused.ClosedByServerAsync());
            await second.SendAsync(new string('x', 200) + "\n");
            Assert.True(await second.ClosedByServerAsync());
        }
        var after = await ReadAsync(client);

        Assert.Equal(Figure(before, "requests") + 11, Figure(after, "requests"));
        Assert.Equal(10, Figure(after, "keys"));
        Assert.True(Figure(after, "stored_bytes") > Figure(before, "stored_bytes"));
        Assert.Equal(Figure(before, "connections_accepted") + 1, Figure(after, "connections_accepted"));
        Assert.Equal(1, Figure(after, "connections_refused"));
        Assert.Equal(1, Figure(after, "connections_closed_by_limit"));
        Assert.Equal(2, Figure(after, "max_clients"));
        Assert.True(Figure(after, "process_threads") >= Figure(after, "pool_threads"));
        Assert.True(Figure(after, "rss_bytes") > Figure(after, "gc_heap_bytes"));
    }

    [Fact]
    public async Task Resp_info_gives_the_fields_redis_tools_read_with_true_numbers()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var resp = await server.ConnectRespAsync();
        Assert.Equal("+OK", await resp.AskAsync("SET", "a", "1"));
        Assert.Equal(":2", await resp.AskAsync("INCR", "a"));
        var info = (await resp.AskAsync("INFO"))[1..].Split("\r\n").Where(l => l.Contains(':')).ToDictionary(l
            => l.Split(':')[0], l => l.Split(':', 2)[1]);

        Assert.Equal("1", info["connected_clients"]);
        Assert.Equal("0", info["blocked_clients"]);
        Assert.Equal("1", info["total_connections_received"]);
        Assert.Equal("3", info["total_commands_processed"]); // SET, INCR and this INFO
        Assert.True(long.Parse(info["instantaneous_ops_per_sec"]) >= 0);
        Assert.True(long.Parse(info["used_memory"]) > 0);
        Assert.StartsWith("keys=1,", info["db0"]);
        Assert.Equal(RespInfo.RedisVersion, info["redis_version"]);
    }
}

public class CounterTests
{
    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Fifty_clients_incrementing_at_once_lose_no_update(string threading)
    {
        await using var server = InProcessServer.Start("--threading", threading);
        var clients = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ =>
        {
            await using var client = await server.ConnectAsync();
            // Pipelined, so that the fifty really are at the store at the same time.
            await client.SendAsync(string.Concat(Enumerable.Repeat("incr counter\n", 200)));
            var replies = new List<Reply>();
            for (var i = 0; i < 200; i++) replies.Add(await client.ReadAsync());
            return replies;
        }));
        Assert.All(clients.SelectMany(r => r), reply => Assert.IsType<Reply.Value>(reply));
        Assert.Equal("10000", await server.StoredAsync("counter"));
    }

    [Fact]
    public async Task Incr_and_decr_answer_the_new_value_and_refuse_what_is_not_an_integer_or_would_overflow()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var client = await server.ConnectAsync();
        Assert.Equal(new Reply.Value("1"), await client.AskAsync("incr n"));
        Assert.Equal(new Reply.Value("11"), await client.AskAsync("incr n 10"));
        Assert.Equal(new Reply.Value("-4"), await client.AskAsync("decr n 15"));
        Assert.Equal(new Reply.Value("-5"), await client.AskAsync("DECR n"));
        Assert.IsType<Reply.Ok>(await client.AskAsync("set text abc"));
        Assert.Equal(new Reply.Error("the value at 'text' is not an integer"), await client.AskAsync("incr text"));
        Assert.IsType<Reply.Ok>(await client.AskAsync($"set big {long.MaxValue}"));
        Assert.Equal(new Reply.Error("increment would overflow"), await client.AskAsync("incr big"));
        Assert.Equal(new Reply.Error("decrement would overflow"), await client.AskAsync($"decr n {long.MinValue}"));
        Assert.Equal(new Reply.Value($"{long.MaxValue}"), await client.AskAsync("get big"));

        await using var resp = await server.ConnectRespAsync();
        Assert.Equal(":-4", await resp.AskAsync("INCR", "n"));
        Assert.Equal(":6", await resp.AskAsync("INCRBY", "n", "10"));
        Assert.Equal(":5", await resp.AskAsync("DECR", "n"));
        Assert.Equal(":0", await resp.AskAsync("DECRBY", "n", "5"));
        Assert.Equal("-ERR value is not an integer or out of range", await resp.AskAsync("INCR", "text"));
        Assert.Equal("-ERR value is not an integer or out of range", await resp.AskAsync("INCRBY", "n", "1.5"));
        Assert.Equal("-ERR increment or decrement would overflow", await resp.AskAsync("INCR", "big"));
        Assert.Equal("-ERR decrement would overflow", await resp.AskAsync("DECRBY", "n", $"{long.MinValue}"));
        Assert.Equal("-ERR wrong number of arguments for 'incr' command", await resp.AskAsync("INCR"));
    }
}

public class StatViewTests
{
    [Fact]
    public async Task The_live_view_prints_a_line_a_tick_and_its_header_again_every_twenty_lines()
    {
        await using var server = InProcessServer.Start();
        await using (var setter = await server.ConnectAsync())
            Assert.IsType<Reply.Ok>(await setter.AskAsync("set a 1"));
        await using var connection = new ClientConnection("127.0.0.1", server.Port);
        Assert.Null(await connection.TryConnectAsync());
        var output = new StringWriter();
        using var stop = new CancellationTokenSource();
        var lines = 0;
        var watching = StatView.RunAsync(connection, new LineCounter(output,
            () => { if (++lines == 2 * StatView.HeaderEvery + 3) stop.Cancel(); }), stop.Token,
            TimeSpan.FromMilliseconds(1));
        Assert.True(await watching);

        var shown = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(StatView.Header, shown[0]);
        Assert.Equal(StatView.Header, shown[StatView.HeaderEvery + 1]);
        // The clients column may still count the setter: its leaving is the server's to notice, in its own time.
        Assert.Matches(@"^1\s+\d+B\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+pool\s*$", shown[1]);
    }

    /// <summary>A writer that says when a line was written.</summary>
    private sealed class LineCounter(TextWriter inner, Action line) : TextWriter
    {
        public override System.Text.Encoding Encoding => inner.Encoding;
        public override void WriteLine(string? value)
        {
            inner.WriteLine(value);
            line();
        }
    }
}
