// tests/ServerTests.cs: the server's protocol behaviour, against a KVServer in this process (ServerTests), and
// what only the real process shows: its start line, arguments, exit codes, thread cap, threads and signals
// (ServerProcessTests).

using System.Text;
using System.Diagnostics;
using System.Text.RegularExpressions;
using KV;
using Xunit;

public class ServerTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private InProcessServer Server => shared.Server;

    [Fact]
    public async Task The_readme_example_gets_the_spec_replies_byte_for_byte()
    {
        await using var server = InProcessServer.Start();
        await using var connection = await server.ConnectAsync();
        await connection.SendAsync("set a  x\tb \r\nget a\nlist\nfoo\n\nping\n");
        var expected = new[] { "OK", "VALUE  x\tb ", "KEYS 1", "a", "ERROR: unknown command 'foo' (type 'help')",
            "PONG" };
        foreach (var line in expected) Assert.Equal(line, await connection.ReadLineAsync());
    }

    [Fact]
    public async Task Every_command_answers_with_its_wire_reply()
    {
        await using var c = await Server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await c.AskAsync("PING"));
        Assert.IsType<Reply.Ok>(await c.AskAsync("set every-k v"));
        Assert.Equal("v", Assert.IsType<Reply.Value>(await c.AskAsync("GET every-k --json")).Text);
        Assert.Contains("every-k", Assert.IsType<Reply.Keys>(await c.AskAsync("list --yml")).Names);
        Assert.IsType<Reply.Ok>(await c.AskAsync("Del every-k"));
        Assert.Equal("key 'every-k' not found", Assert.IsType<Reply.Error>(await c.AskAsync("del every-k")).Message);
        Assert.Equal("key 'every-k' not found", Assert.IsType<Reply.Error>(await c.AskAsync("get every-k")).Message);
        Assert.Equal(Commands.All.Select(x => x.HelpLine), Assert.IsType<Reply.Help>(await c.AskAsync("help")).Lines);
        Assert.Equal([Commands.Of(CommandKind.Set).HelpLine],
            Assert.IsType<Reply.Help>(await c.AskAsync("help set")).Lines);
        Assert.StartsWith("wrong arguments", Assert.IsType<Reply.Error>(await c.AskAsync("get")).Message);
        Assert.IsType<Reply.Bye>(await c.AskAsync("exit"));
        Assert.True(await c.ClosedByServerAsync());
    }

    [Fact]
    public async Task Values_come_back_exactly_as_set()
    {
        await using var c = await Server.ConnectAsync();
        foreach (var value in FormatTests.TrickyValues.Select(row => row.Data).Where(v => !v.Contains('\r')
            && !v.StartsWith('"')))
        {
            Assert.IsType<Reply.Ok>(await c.AskAsync("set exact " + value));
            var reply = Assert.IsType<Reply.Value>(await c.AskAsync("get exact")).Text;
            Assert.Equal(value, Encoding.UTF8.GetString(QuotedForm.Decode(reply)));
            // Plain text travels as it is; only what a line cannot show plainly comes back quoted.
            Assert.Equal(QuotedForm.IsPlainValue(Encoding.UTF8.GetBytes(value)), reply == value);
        }
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Fifty_concurrent_clients_get_every_reply_right(string threading)
    {
        const int clients = 50, requests = 240;
        await using var server = InProcessServer.Start("--threading", threading);
        var mismatches = await Task.WhenAll(Enumerable.Range(0, clients).Select(async id =>
        {
            var random = new Random(id);
            var prefix = $"load{id}-";
            var model = new StoreModel(prefix);
            var wrong = new List<string>();
            await using var c = await server.ConnectAsync();
            for (var i = 0; i <= requests; i++)
            {
                var key = prefix + random.Next(20);
                var line = i == requests ? "list" : random.Next(5) switch
                {
                    0 or 1 => $"set {key} v{i}\t {id} ñ😀 <&>",
                    2 => $"get {key}",
                    3 => $"del {key}",
                    _ => "ping",
                };
                var expected = model.Expect(line);
                var actual = model.Text(await c.AskAsync(line));
                if (actual != expected) wrong.Add($"client {id}, request {i} '{line}': expected '{expected}', got " +
                    $"'{actual}'");
            }
            return wrong;
        }));
        Assert.Empty(mismatches.SelectMany(m => m));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Stopping_ends_a_waiting_client_and_one_held_back_in_the_middle_of_its_replies(string threading)
    {
        var server = InProcessServer.Start("--threading", threading);
        await using var setter = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await setter.AskAsync("set big " + new string('b', 100_000)));
        // One client waits in the middle of a request; the other asked for 200 MB of replies and reads none, so
        // the server is waiting to send to it.
        // Each answers a ping first, so that all three have been admitted when the stop comes.
        await using var halfLine = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await halfLine.AskAsync("ping"));
        await halfLine.SendAsync("get bi");
        await using var deaf = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await deaf.AskAsync("ping"));
        await deaf.SendAsync(string.Concat(Enumerable.Repeat("get big\n", 2_000)));
        Assert.IsType<Reply.Pong>(await setter.AskAsync("ping"));

        await server.DisposeAsync();
        // All three ended by the stop itself: none waited for the 2-second grace to run out unlogged.
        await server.ExpectOutputAsync(@"disconnected: the server is stopping \(\d+ clients?\)$", count: 3);
        await server.ExpectOutputAsync(@"disconnected: the server is stopping \(0 clients\)$");
    }

    [Fact]
    public async Task Idle_and_half_line_clients_do_not_stop_a_new_one()
    {
        await using var idle = await Server.ConnectManyAsync(500);
        await using var halfLine = await Server.ConnectAsync();
        await halfLine.SendAsync("set half-line wai");

        await using var fresh = await Server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await fresh.AskAsync("ping"));

        await halfLine.SendAsync("ted\n");
        Assert.IsType<Reply.Ok>(await halfLine.ReadAsync());
        Assert.Equal("waited", Assert.IsType<Reply.Value>(await fresh.AskAsync("get half-line")).Text);
        Assert.IsType<Reply.Pong>(await idle[^1].AskAsync("ping"));
    }

    [Fact]
    public async Task Two_thousand_pipelined_requests_are_answered_in_order()
    {
        await using var c = await Server.ConnectAsync();
        var batch = new StringBuilder();
        for (var i = 0; i < 1000; i++) batch.Append($"set pipe{i} value {i}\nget pipe{i}\n");
        await c.SendAsync(batch.ToString());
        for (var i = 0; i < 1000; i++)
        {
            Assert.IsType<Reply.Ok>(await c.ReadAsync());
            Assert.Equal($"value {i}", Assert.IsType<Reply.Value>(await c.ReadAsync()).Text);
        }
    }

    [Fact]
    public async Task Connects_and_disconnects_are_logged_with_the_peer_and_count()
    {
        int port;
        await using (var c = await Server.ConnectAsync())
        {
            port = ((System.Net.IPEndPoint)c.Socket.LocalEndPoint!).Port;
            Assert.IsType<Reply.Pong>(await c.AskAsync("ping"));
        }
        // This connection's own lines, by its port: the class's server logs other tests' connections too.
        await Server.ExpectOutputAsync($@"^\+ 127\.0\.0\.1:{port} connected \(\d+ clients?\)$");
        await Server.ExpectOutputAsync($@"^- 127\.0\.0\.1:{port} disconnected: closed by the client \(\d+ clients?\)$");
    }
}

public class ServerProcessTests
{
    [Fact]
    public async Task The_start_line_names_the_address_and_every_limit_and_the_thread_cap_is_an_option()
    {
        await using var server = await ServerProcess.StartAsync(
            "0", "--max-line-bytes", "1000", "--idle-timeout", "1", "--threads", "40", "--max-memory", "32mb",
                "--max-client-memory", "8192kb");
        Assert.Matches(@"(?m)^KV server listening on \S+:\d+ \(threading pool, thread pool max 40, max clients 16384, "
            + @"max line 1000 bytes, idle timeout 1 s, request timeout 60 s, max memory 32mb, max client memory 8mb, "
            + @"password off\)", server.Output);
        await using var connection = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await connection.AskAsync("ping"));
    }

    [Fact]
    public async Task The_start_line_names_the_resp_port_and_a_resp_port_in_use_exits_1()
    {
        await using var server = await ServerProcess.StartAsync("0", "--resp-port", "0");
        Assert.Matches(@"(?m)^KV server listening on \S+:\d+ and RESP on \S+:\d+ \(", server.Output);
        await using var taken = InProcessServer.Start();
        await using var refused = await ServerProcess.LaunchAsync("0", "--resp-port", taken.Port.ToString());
        Assert.Equal(1, await refused.ExitCodeAsync(Programs.Patience));
        Assert.StartsWith($"ERROR: port {taken.Port} is already in use", refused.Output);
    }

    [Fact]
    public async Task Listening_beyond_loopback_without_a_password_prints_one_warning_line()
    {
        await using var open = await ServerProcess.StartAsync("0");
        Assert.Matches(@"(?m)^WARNING: no password, and \S+ takes connections from other machines: "
            + @".*--password .*--bind 127\.0\.0\.1", open.Output);
        await using var local = await ServerProcess.StartAsync("0", "--bind", "127.0.0.1");
        await using var guarded = await ServerProcess.StartAsync("0", "--password", "secret");
        Assert.Contains("password on", guarded.Output);
        Assert.DoesNotContain("WARNING", local.Output + guarded.Output);
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Each_threading_model_is_named_at_start_and_answers_both_protocols(string threading)
    {
        await using var server = await ServerProcess.StartAsync("0", "--resp-port", "0", "--threading", threading);
        Assert.Matches($@"(?m)^KV server listening on .*\(threading {threading}, ", server.Output);
        await using var connection = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await connection.AskAsync("set k v"));
        Assert.Equal("v", Assert.IsType<Reply.Value>(await connection.AskAsync("get k")).Text);
        var respPort = int.Parse(Regex.Match(server.Output, @" and RESP on \S+:(\d+) ").Groups[1].Value);
        await using var resp = await RespConnection.OpenAsync(respPort);
        Assert.Equal("$v", await resp.AskAsync("GET", "k"));
    }

    [Fact]
    public async Task An_unknown_threading_model_is_refused_with_exit_2()
    {
        await using var server = await ServerProcess.LaunchAsync("0", "--threading", "fibres");
        Assert.Equal(2, await server.ExitCodeAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("invalid value 'fibres' for --threading (expected pool, per-client or loops)", server.Output);
    }

    [Fact]
    public async Task A_cap_below_the_cores_is_refused_with_exit_2()
    {
        Assert.SkipWhen(Environment.ProcessorCount < 2, "on one core no cap is below the core count");
        await using var refused = await ServerProcess.LaunchAsync("0", "--threads", "1");
        Assert.Equal(2, await refused.ExitCodeAsync(Programs.Patience));
        Assert.StartsWith("ERROR: the thread pool refused a cap of 1 thread (", refused.Output);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("70000")]
    [InlineData("-1")]
    [InlineData("9000 9001")]
    [InlineData("--max-clients")]
    [InlineData("--max-clients x")]
    [InlineData("--nope")]
    [InlineData("--bind nosuchhost.invalid")]
    [InlineData("--max-memory lots")]
    [InlineData("--max-client-memory -1mb")]
    public async Task Bad_arguments_print_an_error_and_exit_2(string arguments)
    {
        await using var server = await ServerProcess.LaunchAsync(arguments.Split(' '));
        Assert.Equal(2, await server.ExitCodeAsync(Programs.Patience));
        Assert.StartsWith("ERROR: ", server.Output);
    }

    [Fact]
    public async Task Sigint_stops_a_server_started_with_sigint_ignored_as_a_background_job_is()
    {
        var dll = await Programs.DllAsync("KVServer.cs");
        var info = Programs.StartInfo();
        info.FileName = "bash";
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"trap '' INT; exec dotnet '{dll}' 0 --bind 127.0.0.1");
        using var process = Process.Start(info)!;
        try
        {
            _ = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            string? line;
            do line = await process.StandardOutput.ReadLineAsync(Programs.Timeout());
            while (line is not null && !line.StartsWith("KV server listening on "));
            Programs.Signal(process, Programs.SIGINT);
            await process.WaitForExitAsync(Programs.Timeout());
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("KV server stopped",
                await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task The_same_port_for_both_protocols_is_its_own_error()
    {
        // Refused as the arguments are read, before anything listens: the number is any free one.
        await using var free = InProcessServer.Start();
        var port = free.Port.ToString();
        await using var server = await ServerProcess.LaunchAsync(port, "--resp-port", port);
        Assert.Equal(2, await server.ExitCodeAsync(Programs.Patience));
        Assert.StartsWith($"ERROR: --resp-port {port} is the same port as KV's own protocol (give each its own port)",
            server.Output);
    }

    [Fact]
    public async Task A_port_in_use_prints_an_error_and_exits_1()
    {
        await using var first = InProcessServer.Start();
        await using var second = await ServerProcess.LaunchAsync(first.Port.ToString());
        Assert.Equal(1, await second.ExitCodeAsync(Programs.Patience));
        Assert.StartsWith($"ERROR: port {first.Port} is already in use", second.Output);
    }

    [Fact]
    public async Task Help_prints_every_option()
    {
        await using var server = await ServerProcess.LaunchAsync("--help");
        Assert.Equal(0, await server.ExitCodeAsync(Programs.Patience));
        Assert.Equal(ServerOptions.FullUsage.TrimEnd(), server.Output.TrimEnd());
        foreach (var option in new[] { "--resp-port", "--bind", "--password", "--max-memory", "--max-client-memory",
            "--max-clients", "--max-line-bytes", "--idle-timeout", "--request-timeout", "--threads", "--threading",
            "--script-time-limit" })
            Assert.Contains(option, server.Output);
    }

    [Fact]
    public async Task Threads_stay_bounded_under_500_busy_connections()
    {
        await using var server = await ServerProcess.StartAsync();
        await using var connections = await server.ConnectManyAsync(500);
        for (var round = 0; round < 3; round++)
            await Task.WhenAll(connections.Select(async c => Assert.IsType<Reply.Pong>(await c.AskAsync("ping"))));
        var threads = server.Threads;
        TestContext.Current.SendDiagnosticMessage($"server threads with 500 connections: {threads}");
        // The pool's cap (max(16, 4 x cores)), the GC's and the runtime's own threads, and a margin: it scales with the
        // machine.
        Assert.InRange(threads, 1, Math.Max(16, 4 * Environment.ProcessorCount) + 32);
    }

    [Theory]
    [InlineData(Programs.SIGTERM)]
    [InlineData(Programs.SIGINT)]
    public async Task A_stop_signal_with_100_clients_closes_them_all_and_exits_0_within_3_seconds(int signal)
    {
        await using var server = await ServerProcess.StartAsync();
        await using var clients = await server.ConnectManyAsync(100);
        foreach (var client in clients) Assert.IsType<Reply.Pong>(await client.AskAsync("ping"));
        await clients[0].SendAsync("set half a li");
        // One client that asks for far more than it reads: the server is stuck writing to it when the signal comes.
        Assert.IsType<Reply.Ok>(await clients[1].AskAsync("set big " + new string('b', 100_000)));
        await clients[1].SendAsync(string.Concat(Enumerable.Repeat("get big\n", 5_000)));
        Assert.IsType<Reply.Pong>(await clients[2].AskAsync("ping"));

        Programs.Signal(server.Process, signal);
        Assert.Equal(0, await server.ExitCodeAsync(TimeSpan.FromSeconds(3)));
        foreach (var client in clients) Assert.True(await client.ClosedByServerAsync());
        Assert.Contains("KV server stopped", server.Output);
        Assert.DoesNotContain("Exception", server.Output);
        Assert.DoesNotMatch(@"\n\s+at ", server.Output);
    }
}
